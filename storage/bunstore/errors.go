package bunstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/provisionkit/provisioning/fault"
)

// uniqueFields maps each unique index to the field it guards. SQLite names
// the columns instead of the index, hence the second key.
var uniqueFields = []struct{ index, sqliteCols, field string }{
	{"provisioning_users_email_uq", "provisioning_users.email", "email"},
	{"provisioning_organizations_slug_uq", "provisioning_organizations.slug", "slug"},
	{"provisioning_permissions_role_subject_uq", "provisioning_permissions.role_id, provisioning_permissions.subject", "subject"},
	{"provisioning_memberships_org_email_uq", "provisioning_memberships.organization_id, provisioning_memberships.user_email", "user_email"},
	{"provisioning_memberships_org_user_uq", "provisioning_memberships.organization_id, provisioning_memberships.user_id", "user"},
	{"provisioning_memberships_invitation_uq", "provisioning_memberships.invitation_token_hash", "invitation"},
	{"provisioning_identity_providers_name_uq", "provisioning_identity_providers.name", "name"},
	{"provisioning_api_credentials_client_id_uq", "provisioning_api_credentials.client_id", "client_id"},
	{"provisioning_application_memberships_member_uq", "provisioning_application_memberships.api_credential_id, provisioning_application_memberships.membership_id", "api_credential"},
	{"provisioning_application_memberships_profile_uq", "provisioning_application_memberships.api_credential_id, provisioning_application_memberships.membership_profile_id", "api_credential"},
}

// uniqueField names the field of a unique violation: from the constraint
// name (PostgreSQL's error field, MySQL's "for key '...'"), or from SQLite's
// exact column list. It never reads the duplicated value.
func uniqueField(err error) string {
	var pgErr pgdriver.Error
	var myErr *mysql.MySQLError
	var name, cols string
	switch {
	case errors.As(err, &pgErr):
		name = pgErr.Field('n')
	case errors.As(err, &myErr):
		if i := strings.LastIndex(myErr.Message, "for key '"); i >= 0 {
			name = strings.TrimSuffix(myErr.Message[i+len("for key '"):], "'")
			name = name[strings.LastIndexByte(name, '.')+1:] // MySQL 8 prefixes the table
		}
	default:
		msg := err.Error()
		if i := strings.Index(msg, "UNIQUE constraint failed: "); i >= 0 {
			cols = msg[i+len("UNIQUE constraint failed: "):]
			if j := strings.Index(cols, " ("); j >= 0 {
				cols = cols[:j]
			}
		}
	}
	for _, u := range uniqueFields {
		if name != "" && name == u.index || cols != "" && cols == u.sqliteCols {
			return u.field
		}
	}
	return ""
}

type class uint8

const (
	classOther class = iota
	classUnique
	classForeignKey
	classTransient   // retry the transaction
	classConnection  // the connection broke: on COMMIT the outcome is unknown
	classServerError // the server answered with an error: nothing was committed
)

// classify reads the driver's error code.
func classify(err error) class {
	var sqliteErr interface{ Code() int }
	var pgErr pgdriver.Error
	var myErr *mysql.MySQLError
	switch {
	case errors.As(err, &pgErr):
		switch code := pgErr.Field('C'); {
		case code == "23505":
			return classUnique
		case code == "23503":
			return classForeignKey
		case code == "40001", code == "40P01", code == "55P03":
			return classTransient
		case strings.HasPrefix(code, "08"), code == "57P01":
			return classConnection
		}
		return classServerError
	case errors.As(err, &myErr):
		switch myErr.Number {
		case 1062:
			return classUnique
		case 1451, 1452:
			return classForeignKey
		case 1213, 1205:
			return classTransient
		}
		return classServerError
	case errors.As(err, &sqliteErr):
		switch code := sqliteErr.Code(); {
		case code == 2067 || code == 1555: // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
			return classUnique
		case code == 787: // SQLITE_CONSTRAINT_FOREIGNKEY
			return classForeignKey
		case code&0xff == 5 || code&0xff == 6: // SQLITE_BUSY, SQLITE_LOCKED
			return classTransient
		}
		return classServerError
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return classConnection
	}
	return classOther
}

// translate maps a driver error to the kinds of package fault, keeping it as the cause.
func (s *Store) translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		// The call's context ended the statement (while it waited for a
		// lock, for a connection), or its deadline the read of the answer
		// (pgdriver): it may be made again. In a transaction, endedTx also
		// makes the second match the context's error.
		return fault.E(op, fault.Busy, err)
	}
	switch classify(err) {
	case classUnique:
		return &fault.Error{Op: op, Kind: fault.Conflict, Field: uniqueField(err), Err: errors.Join(fault.ErrAlreadyExists, err)}
	case classForeignKey:
		// On a write, the row refers to one that does not exist (deleted by a
		// concurrent transaction); deletes map it to fault.ErrInUse themselves.
		return &fault.Error{Op: op, Kind: fault.Conflict, Err: errors.Join(fault.ErrDangling, err)}
	case classTransient:
		return &fault.Error{Op: op, Kind: fault.Busy, Err: err}
	}
	return &fault.Error{Op: op, Kind: fault.Internal, Err: err}
}

// translateCommit maps an error of COMMIT. Only an answer of the server
// proves that nothing was committed; anything else may hide a commit.
func (s *Store) translateCommit(err error) error {
	switch classify(err) {
	case classTransient:
		return &fault.Error{Op: "commit", Kind: fault.Busy, Err: err}
	case classUnique, classForeignKey, classServerError:
		return s.translate("commit", err)
	}
	return &fault.Error{Op: "commit", Kind: fault.Unknown, Err: errors.Join(fault.ErrCommitUnknown, err)}
}

// contextErr returns ctx's error, or context.DeadlineExceeded once its
// deadline has passed: a driver that reads until the deadline (pgdriver)
// can fail an instant before ctx reports it.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// endedTx maps err, the failure of a transaction that was rolled back or
// never began, when ctx has ended and err is what ending it causes: the
// transaction changed nothing, so the error is fault.Busy (the call may be
// made again) and matches ctx's error (errors.Is with
// context.DeadlineExceeded or context.Canceled), on every backend. Any other
// error (a refusal of the call, a failure while ctx is live) is kept.
func endedTx(ctx context.Context, err error) error {
	cerr := contextErr(ctx)
	if err == nil || cerr == nil || !interrupted(err) && fault.KindOf(err) != fault.Busy {
		return err
	}
	if errors.Is(err, cerr) {
		if fault.KindOf(err) == fault.Busy {
			return err
		}
		return &fault.Error{Kind: fault.Busy, Err: err}
	}
	return &fault.Error{Kind: fault.Busy, Err: fmt.Errorf("%w: %w", err, cerr)}
}

// interrupted reports an error that the end of a statement's context
// causes: the context's own error (go-sql-driver/mysql, modernc's
// statements, database/sql), a socket deadline that passed (pgdriver reads
// until the context's deadline), a connection closed under the statement
// (begin's watch on pgdriver), or SQLite's SQLITE_INTERRUPT (modernc's
// BEGIN).
func interrupted(err error) bool {
	var sqliteErr interface{ Code() int }
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, net.ErrClosed):
		return true
	case errors.As(err, &sqliteErr):
		return sqliteErr.Code()&0xff == 9 // SQLITE_INTERRUPT
	}
	return classify(err) == classConnection
}
