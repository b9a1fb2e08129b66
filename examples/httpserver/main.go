// Command httpserver serves the Provisioning API (JSON:API, the wire format
// of Commerce Layer's) over the library: the main of package httpapi.
//
//	go run ./examples/httpserver                      # :8080, SQLite file provisioning.db
//	go run ./examples/httpserver -addr :9000 -db /tmp/p.db
//	go run ./examples/httpserver -postgres 'postgres://postgres@127.0.0.1:5432/app?sslmode=disable'
//
// On its first start (no user with -owner-email yet) it creates that user
// and prints one line, "owner token: <token>": a bearer token of the owner.
// PROVISIONING_OWNER_TOKEN, when set, is used as that token. API
// credentials get tokens at POST /oauth/token (client credentials grant).
// PROVISIONING_IDP_KEYS ("id=base64,...", 32-byte keys) seals identity
// provider secrets; without it an ephemeral key is made at each start.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/postgres"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/token"
	"github.com/provisionkit/provisioning/user"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, db, postgres, ownerEmail, baseURL string
	tokenTTL, ownerTokenTTL                 time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&c.db, "db", "provisioning.db", "SQLite database file")
	fs.StringVar(&c.postgres, "postgres", "", "PostgreSQL DSN (instead of -db)")
	fs.StringVar(&c.ownerEmail, "owner-email", "owner@example.com", "email of the first user, created on first start")
	fs.StringVar(&c.baseURL, "base-url", "", "scheme and host of links (default: the request's Host)")
	fs.DurationVar(&c.tokenTTL, "token-ttl", 2*time.Hour, "lifetime of tokens issued at /oauth/token")
	fs.DurationVar(&c.ownerTokenTTL, "owner-token-ttl", 30*24*time.Hour, "lifetime of the first owner's token")
	return c, fs.Parse(args)
}

// run serves until ctx ends, then shuts down gracefully. ready, when not
// nil, receives the address listened on.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := bunstore.New(db)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	keys, err := idpKeys(getenv("PROVISIONING_IDP_KEYS"), log)
	if err != nil {
		return err
	}
	p, err := provisioning.New(store, provisioning.WithLogger(log), provisioning.WithKeyProvider(keys))
	if err != nil {
		return err
	}
	tokens := token.NewIssuer(store.Tokens(), nil)
	if err := firstOwner(ctx, p, tokens, cfg, getenv("PROVISIONING_OWNER_TOKEN"), stdout); err != nil {
		return err
	}
	h, err := httpapi.New(p, httpapi.Tokens(tokens), httpapi.WithLogger(log), httpapi.WithBaseURL(cfg.baseURL),
		httpapi.WithTokenEndpoint(tokens, cfg.tokenTTL))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("httpserver: listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	go sweep(ctx, tokens, log)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log.Info("httpserver: shutting down")
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func open(ctx context.Context, cfg config) (*bun.DB, error) {
	if cfg.postgres != "" {
		return postgres.Open(ctx, cfg.postgres)
	}
	return sqlite.Open(ctx, cfg.db)
}

func idpKeys(spec string, log *slog.Logger) (idp.KeyProvider, error) {
	if spec != "" {
		return idp.ParseStaticKeys(spec)
	}
	log.Warn("httpserver: PROVISIONING_IDP_KEYS is not set: identity provider secrets are sealed with a key that ends with this process")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return idp.ParseStaticKeys("ephemeral=" + base64.StdEncoding.EncodeToString(key))
}

// firstOwner creates the first user on the first start, and prints the
// line "owner token: <token>".
func firstOwner(ctx context.Context, p *provisioning.Provisioner, tokens *token.Issuer, cfg config, fixed string, stdout io.Writer) error {
	_, err := p.System().UserByEmail(ctx, cfg.ownerEmail)
	switch {
	case err == nil:
		return nil // not the first start
	case fault.KindOf(err) != fault.NotFound:
		return err
	}
	owner, err := p.System().CreateUser(ctx, user.Create{Email: cfg.ownerEmail})
	if err != nil {
		return err
	}
	secret := fixed
	if secret == "" {
		secret = token.NewSecret()
	}
	if _, err := tokens.IssueSecret(ctx, secret, provisioning.User(owner.ID), cfg.ownerTokenTTL); err != nil {
		return fmt.Errorf("owner token: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "owner token: %s\n", secret)
	return err
}

// sweep deletes expired tokens every hour.
func sweep(ctx context.Context, tokens *token.Issuer, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := tokens.Sweep(ctx); err != nil {
				log.Warn("httpserver: sweeping expired tokens failed", "error", err)
			}
		}
	}
}
