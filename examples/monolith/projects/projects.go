// Package projects is the host's own service in the monolith example: a
// projects table in the host's database, guarded by the permissions that
// provisioning manages. It knows nothing of fx.
package projects

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// Subject is the permission subject of projects. The host registers it with
// provisioning.WithSubjects, and custom roles can then grant it.
const Subject = "projects"

// Project is a row of the host's own table, beside provisioning's tables.
type Project struct {
	bun.BaseModel `bun:"table:host_projects"`

	ID             string    `bun:"id,pk"`
	OrganizationID string    `bun:"organization_id,notnull"`
	Name           string    `bun:"name,notnull"`
	CreatedBy      string    `bun:"created_by,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}

// Service creates and lists projects for the members of an organization.
type Service struct {
	db  *bun.DB
	p   *provisioning.Provisioner
	ids provisioning.IDGenerator
}

// New returns the service over the host's database and the Provisioner.
func New(db *bun.DB, p *provisioning.Provisioner) *Service {
	return &Service{db: db, p: p, ids: provisioning.NewIDGenerator()}
}

// Migrate creates the service's table.
func (s *Service) Migrate(ctx context.Context) error {
	_, err := s.db.NewCreateTable().Model((*Project)(nil)).IfNotExists().Exec(ctx)
	return err
}

// guard checks that who may act on projects in orgID. A refusal is a
// fault.ErrForbidden, the same kind the library's own calls use.
func (s *Service) guard(ctx context.Context, op string, who provisioning.Principal, orgID string, act role.Action) error {
	ok, err := s.p.As(who).Can(ctx, orgID, Subject, act)
	if err != nil {
		return err
	}
	if !ok {
		return fault.E(op, fault.Forbidden, nil)
	}
	return nil
}

// Create creates a project in orgID, if who may create projects there.
func (s *Service) Create(ctx context.Context, who provisioning.Principal, orgID, name string) (*Project, error) {
	if err := s.guard(ctx, "projects.Create", who, orgID, role.ActionCreate); err != nil {
		return nil, err
	}
	pr := &Project{ID: s.ids.NewID(), OrganizationID: orgID, Name: name, CreatedBy: who.ID, CreatedAt: time.Now().UTC()}
	if _, err := s.db.NewInsert().Model(pr).Exec(ctx); err != nil {
		return nil, err
	}
	return pr, nil
}

// List lists the projects of orgID, if who may read projects there.
func (s *Service) List(ctx context.Context, who provisioning.Principal, orgID string) ([]Project, error) {
	if err := s.guard(ctx, "projects.List", who, orgID, role.ActionRead); err != nil {
		return nil, err
	}
	var out []Project
	err := s.db.NewSelect().Model(&out).Where("organization_id = ?", orgID).Order("id").Scan(ctx)
	return out, err
}
