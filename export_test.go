package provisioning

// Refusal exposes refusal to the external tests.
var Refusal = refusal
