package provisioning_test

import (
	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// The conformance suite's store contract holds the facade's backend: a store
// that passes the suite can back a Provisioner (and keeps its tokens). This
// fails to compile when the Backend gains a method the suite does not prove.
var _ provisioning.TokenBackend = storagetest.Store(nil)
