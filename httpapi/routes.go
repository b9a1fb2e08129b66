package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/internal/httpx"
)

// routes registers every endpoint of the Provisioning API, and those of
// rebillyapi and eciapi.
func (h *Handler) routes() {
	for _, typ := range kindOrder {
		k := h.kinds[typ]
		if typ == typeUsers {
			continue // the singleton, below
		}
		coll, item := "/api/"+typ, "/api/"+typ+"/{id}"
		if k.list != nil {
			h.handle(http.MethodGet, coll, func(ctx context.Context, c *call) (int, *document, error) { return c.list(ctx, k, nil) })
		}
		h.handle(http.MethodGet, item, func(ctx context.Context, c *call) (int, *document, error) { return c.retrieve(ctx, k) })
		if k.create != nil {
			h.handle(http.MethodPost, coll, func(ctx context.Context, c *call) (int, *document, error) { return c.create(ctx, k) })
		}
		if k.update != nil {
			h.handle(http.MethodPatch, item, func(ctx context.Context, c *call) (int, *document, error) { return c.update(ctx, k) })
		}
		if k.del != nil {
			h.handle(http.MethodDelete, item, func(ctx context.Context, c *call) (int, *document, error) { return c.delete(ctx, k) })
		}
		for _, r := range k.rels {
			h.handle(http.MethodGet, item+"/"+r.name, func(ctx context.Context, c *call) (int, *document, error) { return c.related(ctx, k, r) })
		}
	}
	users := h.kinds[typeUsers]
	h.handle(http.MethodGet, "/api/user", func(ctx context.Context, c *call) (int, *document, error) { return c.retrieveUser(ctx, users) })
	h.handle(http.MethodPatch, "/api/user", func(ctx context.Context, c *call) (int, *document, error) { return c.update(ctx, users) })
	h.handle(http.MethodPatch, "/api/user/confirm_email", func(ctx context.Context, c *call) (int, *document, error) {
		return c.confirmEmail(ctx, users)
	})
	h.handle(http.MethodPost, "/api/memberships/{id}/resend", func(ctx context.Context, c *call) (int, *document, error) { return c.resend(ctx) })
	h.handle(http.MethodPost, "/api/identity_providers/{id}/verify", func(ctx context.Context, c *call) (int, *document, error) {
		return c.verifyProvider(ctx)
	})
	h.handle(http.MethodPost, "/api/api_credentials/{id}/rotate", func(ctx context.Context, c *call) (int, *document, error) { return c.rotate(ctx) })
	h.handle(http.MethodPatch, "/api/organizations/{id}/transfer_ownership", func(ctx context.Context, c *call) (int, *document, error) {
		return c.transferOwnership(ctx)
	})
	if h.tokens != nil {
		h.mux.Handle("POST /oauth/token", h.tokenEndpoint())
	}
	h.plainRoutes()
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, []*apiError{problem(http.StatusNotFound, "ROUTE_NOT_FOUND", "Route not found",
			"No endpoint answers "+r.Method+" "+r.URL.Path+".")})
	})
}

// single answers one resource (nil: data null), with its includes.
func (c *call) single(ctx context.Context, k *kind, v object, status int) (int, *document, error) {
	if err := c.q.bindShape(c.h.kinds, k); err != nil {
		return 0, nil, err
	}
	doc := &document{}
	if v != nil {
		e := newEncoder(c)
		objs, err := e.primary(ctx, k, []object{v})
		if err != nil {
			return 0, nil, err
		}
		doc.Data, doc.Included = objs[0], e.included
	}
	return status, doc, nil
}

// singleOnly refuses the parameters of lists on other endpoints.
func (c *call) singleOnly() error {
	if p := c.q.listParam(); p != "" {
		return errNotListable(p)
	}
	return nil
}

func (c *call) list(ctx context.Context, k *kind, fixed conds) (int, *document, error) {
	if err := c.q.bindShape(c.h.kinds, k); err != nil {
		return 0, nil, err
	}
	l := c.q.bindList(k, fixed)
	c.where = inQuery{filters: l.params}
	items, total, err := c.collect(ctx, k, l)
	if err != nil {
		return 0, nil, err
	}
	e := newEncoder(c)
	objs, err := e.primary(ctx, k, items)
	if err != nil {
		return 0, nil, err
	}
	pageCount := (total + l.size - 1) / l.size
	meta := map[string]any{"record_count": total, "page_count": pageCount}
	c.countMeta(meta)
	return http.StatusOK, &document{Data: objs, Included: e.included, Meta: meta,
		Links: pageLinks(c.base, c.r.URL, l.number, l.size, pageCount)}, nil
}

func (c *call) retrieve(ctx context.Context, k *kind) (int, *document, error) {
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	v, err := k.get(c.s, ctx, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return c.single(ctx, k, v, http.StatusOK)
}

func (c *call) create(ctx context.Context, k *kind) (int, *document, error) {
	return c.write(ctx, k, "", k.create, http.StatusCreated)
}

func (c *call) update(ctx context.Context, k *kind) (int, *document, error) {
	id := c.r.PathValue("id")
	return c.write(ctx, k, id, func(in *input) action[object] { return k.update(id, in) }, http.StatusOK)
}

// write reads the body whole, then makes the facade call it asks for.
func (c *call) write(ctx context.Context, k *kind, id string, read func(*input) action[object], status int) (int, *document, error) {
	c.where = inBody{rels: k.fieldRels}
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	if err := c.q.bindShape(c.h.kinds, k); err != nil {
		return 0, nil, err
	}
	in, err := c.body(k, id)
	if err != nil {
		return 0, nil, err
	}
	act := read(in)
	if err := in.finish(); err != nil {
		return 0, nil, err
	}
	if status == http.StatusCreated {
		if err := in.require(requiredRels[k.typ]); err != nil {
			return 0, nil, err
		}
	}
	v, err := act(ctx, c.s)
	if err != nil {
		return 0, nil, err
	}
	c.touch(orgOf(k, v))
	if status == http.StatusCreated {
		c.w.Header().Set("Location", c.base+"/api/"+k.typ+"/"+k.id(v))
	}
	return c.single(ctx, k, v, status)
}

func (c *call) delete(ctx context.Context, k *kind) (int, *document, error) {
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	if err := k.del(c.s, ctx, c.r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	c.touch("") // the organization is not known here: every count
	return http.StatusNoContent, nil, nil
}

// related serves GET /api/<type>/<id>/<relationship>: the linked resource
// (data null for none) or the list of the linked ones.
func (c *call) related(ctx context.Context, k *kind, r *rel) (int, *document, error) {
	parent, err := k.get(c.s, ctx, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	target := c.h.kinds[r.target]
	if r.many != nil {
		return c.list(ctx, target, r.many(parent))
	}
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	id := r.one(parent)
	if id == "" {
		return c.single(ctx, target, nil, http.StatusOK)
	}
	v, err := target.get(c.s, ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return c.single(ctx, target, v, http.StatusOK)
}

func (c *call) retrieveUser(ctx context.Context, k *kind) (int, *document, error) {
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	u, err := c.s.CurrentUser(ctx)
	if err != nil {
		return 0, nil, err
	}
	return c.single(ctx, k, u, http.StatusOK)
}

// confirmEmail serves PATCH /api/user/confirm_email with the code of the
// caller's pending email change in data.attributes.code: 200 with the user,
// its new address verified; a wrong, used or expired code is 422 on code.
func (c *call) confirmEmail(ctx context.Context, k *kind) (int, *document, error) {
	c.where = inBody{rels: k.fieldRels}
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	if err := c.q.bindShape(c.h.kinds, k); err != nil {
		return 0, nil, err
	}
	in, err := c.body(k, "")
	if err != nil {
		return 0, nil, err
	}
	code := in.str("code")
	if err := in.finish(); err != nil {
		return 0, nil, err
	}
	if code == nil {
		return 0, nil, badBody("PARAM_MISSING", "/data/attributes/code", "code is required.")
	}
	u, err := c.s.ConfirmEmail(ctx, *code)
	if err != nil {
		return 0, nil, err
	}
	return c.single(ctx, k, u, http.StatusOK)
}

// resend serves POST /api/memberships/<id>/resend: 202, no body. The body
// may be empty; one ({"data":{}} from the SDK) carries nothing, but is
// read as any other: a member given twice, a data.type other than
// memberships, a data.id other than the URL's, attributes or relationships
// are refused.
func (c *call) resend(ctx context.Context) (int, *document, error) {
	id, err := c.bareAction(c.h.kinds[typeMemberships])
	if err != nil {
		return 0, nil, err
	}
	return c.accepted("", c.s.ResendInvitation(ctx, id))
}

// bareAction reads the request of an action that takes nothing on a
// resource of kind k, and returns the resource's id: the body may be empty;
// one carries nothing, but is read as any other (a member given twice, a
// data.type other than k's, a data.id other than the URL's, attributes or
// relationships are refused).
func (c *call) bareAction(k *kind) (string, error) {
	if err := c.singleOnly(); err != nil {
		return "", err
	}
	id := c.r.PathValue("id")
	b, err := c.readBody()
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		d, err := c.actionData(k, id, b)
		if err != nil {
			return "", err
		}
		if err := d.nothingElse(""); err != nil {
			return "", err
		}
	}
	return id, nil
}

// verifyProvider serves POST /api/identity_providers/<id>/verify: the
// provider's domains are looked up now (the owner only, as an update of the
// provider) and the provider is answered 200 with its new status. The body
// is as resend's: empty, {"data":{}} or the provider's identifier.
func (c *call) verifyProvider(ctx context.Context) (int, *document, error) {
	k := c.h.kinds[typeProviders]
	if err := c.q.bindShape(c.h.kinds, k); err != nil {
		return 0, nil, err
	}
	id, err := c.bareAction(k)
	if err != nil {
		return 0, nil, err
	}
	p, _, err := c.s.VerifyIdentityProvider(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	c.touch(p.OrganizationID) // its status, which lists filter on
	return c.single(ctx, k, p, http.StatusOK)
}

// actionData decodes the body of an action on resource id of kind k and
// checks that it names that resource (data.type may be absent).
func (c *call) actionData(k *kind, id string, b []byte) (*requestData, error) {
	d, err := decodeRequest(b)
	if err != nil {
		return nil, err
	}
	return d, d.identifies(k, id, false)
}

// rotate serves POST /api/api_credentials/<id>/rotate: the credential gets
// a new client secret, answered 200 with the credential and, this once, the
// secret in client_secret, as at creation. The body is empty, or the
// credential's resource object with one optional attribute, overlap: how
// many seconds the previous secret, and the tokens obtained with it, keep
// working (0, the default, ends them at once; at most 30 days).
func (c *call) rotate(ctx context.Context) (int, *document, error) {
	k := c.h.kinds[typeCredentials]
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	if err := c.q.bindShape(c.h.kinds, k); err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("id")
	b, err := c.readBody()
	if err != nil {
		return 0, nil, err
	}
	var overlap time.Duration
	if len(bytes.TrimSpace(b)) > 0 {
		in, err := c.bodyFor(k, id, b)
		if err != nil {
			return 0, nil, err
		}
		if n := in.number("overlap"); n != nil {
			overlap = time.Duration(*n) * time.Second
			if *n < 0 || *n > int(credential.MaxRotationOverlap/time.Second) {
				overlap = -1 // out of range, and maybe beyond a Duration: the facade refuses it
			}
		}
		if err := in.finish(); err != nil {
			return 0, nil, err
		}
	}
	is, err := c.s.RotateCredential(ctx, id, overlap)
	if err != nil {
		return 0, nil, err
	}
	c.touch(is.Credential.OrganizationID)
	return c.single(ctx, k, &apiCredential{Credential: *is.Credential, secret: is.ClientSecret}, http.StatusOK)
}

// transferOwnership serves PATCH /api/organizations/<id>/transfer_ownership
// with new_owner_email in data.attributes or, as the CLI sends it, in data
// (then data.type may be absent, and no attribute or relationship is
// taken). Either way a data.type other than organizations, or a data.id
// other than the URL's, is refused.
func (c *call) transferOwnership(ctx context.Context) (int, *document, error) {
	if err := c.singleOnly(); err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("id")
	b, err := c.readBody()
	if err != nil {
		return 0, nil, err
	}
	orgs := c.h.kinds[typeOrganizations]
	d, err := c.actionData(orgs, id, b)
	if err != nil {
		return 0, nil, err
	}
	if v := d.Others["new_owner_email"]; !httpx.IsNull(v) {
		var email string
		if err := json.Unmarshal(v, &email); err != nil {
			return 0, nil, badBody("INVALID_FIELD_VALUE", "/data/new_owner_email", "new_owner_email must be a string.")
		}
		if err := d.nothingElse("new_owner_email is given in data"); err != nil {
			return 0, nil, err
		}
		return c.accepted(id, c.s.TransferOwnership(ctx, id, email))
	}
	if err := d.identifies(orgs, id, true); err != nil {
		return 0, nil, err
	}
	in := newInput(orgs, d)
	email := in.str("new_owner_email")
	if err := in.finish(); err != nil {
		return 0, nil, err
	}
	if email == nil {
		return 0, nil, badBody("PARAM_MISSING", "/data/attributes/new_owner_email", "new_owner_email is required.")
	}
	return c.accepted(id, c.s.TransferOwnership(ctx, id, *email))
}

// accepted answers a write of organization org ("" for unknown) that has
// no body: 202, or its error.
func (c *call) accepted(org string, err error) (int, *document, error) {
	if err != nil {
		return 0, nil, err
	}
	c.touch(org)
	return http.StatusAccepted, nil, nil
}
