package provisioning

import "github.com/provisionkit/provisioning/access"

// System is the handle for trusted code: creating users at sign-up,
// bootstrap and background jobs. Nothing it does is authorized, so hand it
// only to code that decides for itself.
type System struct{ s *Session }

// System returns the handle for trusted code (bootstrap, background jobs):
// it is not authorized, so it offers only what such code needs.
func (p *Provisioner) System() *System {
	return &System{s: &Session{p: p, pr: Principal{Kind: access.KindSystem, ID: "system"}}}
}

// As returns the session of principal; the same as Provisioner.As.
func (y *System) As(p Principal) *Session { return y.s.p.As(p) }
