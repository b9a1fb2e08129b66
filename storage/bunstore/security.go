package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/resource"
)

type securityEventRow struct {
	bun.BaseModel  `bun:"table:provisioning_security_events,alias:se"`
	ID             string    `bun:"id,pk"`
	Kind           string    `bun:"kind,notnull"`
	OrganizationID string    `bun:"organization_id,nullzero"`
	WhoType        string    `bun:"who_type,notnull"`
	WhoID          string    `bun:"who_id,notnull"`
	Operation      string    `bun:"operation,notnull"`
	Subject        string    `bun:"subject,notnull"`
	Action         string    `bun:"action,notnull"`
	Reason         string    `bun:"reason,notnull"`
	IP             string    `bun:"ip,notnull"`
	Detail         string    `bun:"detail,notnull"`
	RequestID      string    `bun:"request_id,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}

func (r *securityEventRow) domain() audit.SecurityEvent {
	return audit.SecurityEvent{ID: r.ID, Kind: audit.SecurityKind(r.Kind), OrganizationID: r.OrganizationID,
		Who: audit.Who{Type: r.WhoType, ID: r.WhoID}, Operation: r.Operation, Subject: r.Subject, Action: r.Action,
		Reason: r.Reason, IP: r.IP, Detail: r.Detail, RequestID: r.RequestID, CreatedAt: r.CreatedAt.UTC()}
}

type securityStore struct{ base }

var securityColumns = columns{
	"id": {"se.id", textCol}, "kind": {"se.kind", textCol}, "organization_id": {"se.organization_id", textCol},
	"who_type": {"se.who_type", textCol}, "who_id": {"se.who_id", textCol}, "operation": {"se.operation", textCol},
	"subject": {"se.subject", textCol}, "action": {"se.action", textCol}, "reason": {"se.reason", textCol},
	"ip": {"se.ip", textCol}, "request_id": {"se.request_id", textCol}, "created_at": {"se.created_at", timeCol},
}

// Append writes the event on the database itself, never in the
// transaction ctx may carry: it must outlive that transaction's rollback.
// Its text is escaped here too, whoever built it.
func (s securityStore) Append(ctx context.Context, e *audit.SecurityEvent) error {
	e2 := e.Sanitized()
	row := &securityEventRow{ID: e2.ID, Kind: string(e2.Kind), OrganizationID: e2.OrganizationID, WhoType: e2.Who.Type,
		WhoID: e2.Who.ID, Operation: e2.Operation, Subject: e2.Subject, Action: e2.Action, Reason: e2.Reason,
		IP: e2.IP, Detail: e2.Detail, RequestID: e2.RequestID, CreatedAt: e2.CreatedAt.UTC()}
	_, err := s.s.db.NewInsert().Model(row).Returning("NULL").Exec(context.WithoutCancel(ctx))
	return s.err("audit.AppendSecurityEvent", err)
}

func (s securityStore) List(ctx context.Context, f audit.SecurityFilter) (resource.Page[audit.SecurityEvent], error) {
	var rows []securityEventRow
	q := s.idb(ctx).NewSelect().Model(&rows)
	if f.OrganizationID != "" {
		q = q.Where("se.organization_id = ?", f.OrganizationID)
	}
	if f.Kind != "" {
		q = q.Where("se.kind = ?", string(f.Kind))
	}
	if f.WhoID != "" {
		q = q.Where("se.who_id = ?", f.WhoID)
	}
	if !f.Since.IsZero() {
		q = q.Where("se.created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("se.created_at < ?", f.Until.UTC())
	}
	return page(ctx, s.base, "audit.ListSecurityEvents", q, &rows, "se", securityColumns, f.PageRequest,
		(*securityEventRow).domain, func(e audit.SecurityEvent) string { return e.ID })
}
