// Command httpserver serves the Provisioning API (JSON:API, the wire format
// of Commerce Layer's) over the library: the main of package httpapi, whose
// handler also serves the Rebilly and ECI membership APIs (rebillyapi,
// eciapi).
//
//	go run ./examples/httpserver                      # :8080, SQLite file provisioning.db
//	go run ./examples/httpserver -addr :9000 -db /tmp/p.db
//	go run ./examples/httpserver -postgres 'postgres://postgres@127.0.0.1:5432/app?sslmode=disable'
//
// On its first start (no user with -owner-email yet) it creates that user
// and prints one line, "owner token: <token>": a bearer token of the owner.
// PROVISIONING_OWNER_TOKEN, when set, is that token: on the first start, or
// on a later one where the database does not know it yet (it is then
// registered for the owner and printed once); a later start without it
// logs that the token printed before is still in force, never the token.
// API credentials get tokens at POST /oauth/token (client credentials
// grant).
//
// PROVISIONING_IDP_KEYS seals identity provider client secrets: "id=base64"
// keys of 32 bytes, comma-separated, the first one current (make one with
// `head -c 32 /dev/urandom | base64`). Without it a key is made for this
// process only, and the secrets it sealed cannot be read after a restart.
//
// In the background it verifies pending identity providers
// (-verify-interval, 30s by default) and purges versions older than
// -versions-retention (a year by default) every -purge-interval (an hour);
// an interval of 0 turns a job off, and both stop with the server.
//
// Besides the Provisioning API, it serves POST /invitations/accept (the
// signed-in user accepts an invitation with its token) and, with -dev
// (development), logs each invitation with its token instead of mailing
// it (and each email change with its code), keeps it for
// GET /dev/mail?to=<email>, and signs users up at POST /dev/users with an
// address taken as verified without proving it (see dev.go).
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
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, db, postgres, ownerEmail, baseURL string
	tokenTTL, ownerTokenTTL                 time.Duration
	dev                                     bool
	// The background jobs: an interval of 0 turns one off.
	retention, purgeInterval, verifyInterval time.Duration
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
	fs.DurationVar(&c.ownerTokenTTL, "owner-token-ttl", 30*24*time.Hour, "lifetime of the owner's token, when one is printed")
	fs.BoolVar(&c.dev, "dev", false, "development mode: log invitations with their token, serve GET /dev/mail and POST /dev/users")
	fs.DurationVar(&c.retention, "versions-retention", provisioning.DefaultVersionRetention, "age past which versions are purged (at least 24h)")
	fs.DurationVar(&c.purgeInterval, "purge-interval", time.Hour, "how often versions past their retention are purged (0: never)")
	fs.DurationVar(&c.verifyInterval, "verify-interval", 30*time.Second, "how often pending identity providers are looked for and verified (0: never)")
	return c, fs.Parse(args)
}

// run serves until ctx ends, then shuts down gracefully. It prints a token
// it made to stdout and logs to stderr. ready, when not nil, receives the
// address listened on.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(addr string)) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	if err := checkOwnerToken(getenv("PROVISIONING_OWNER_TOKEN")); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
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
	opts := []provisioning.Option{provisioning.WithLogger(log), provisioning.WithKeyProvider(keys)}
	var mail *devMail
	if cfg.dev {
		mail = &devMail{log: log}
		opts = append(opts, provisioning.WithNotifier(mail))
		log.Warn("httpserver: development mode (-dev): invitations and email changes are logged with their token or code, not mailed; " +
			"GET /dev/mail and POST /dev/users are open to anyone who reaches this address")
	}
	p, err := provisioning.New(store, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	stopJobs, err := startJobs(ctx, p, cfg)
	if err != nil {
		return err
	}
	defer stopJobs()
	tokens := token.NewIssuer(store.Tokens(), nil)
	if err := ownerToken(ctx, p, tokens, cfg, getenv("PROVISIONING_OWNER_TOKEN"), stdout, log); err != nil {
		return err
	}
	api, err := httpapi.New(p, httpapi.Tokens(tokens), httpapi.WithLogger(log), httpapi.WithBaseURL(cfg.baseURL),
		httpapi.WithTokenEndpoint(tokens, cfg.tokenTTL))
	if err != nil {
		return err
	}
	defer api.Close() // after the server's shutdown: stops ECI's running imports
	h := routes(api, p, tokens, mail, cfg, log)
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

// job is a background job of the library: the verification of identity
// providers, the purge of old versions.
type job interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// startJobs starts the background jobs the flags turn on and returns the
// function that stops them (waiting for each at most 10 seconds).
func startJobs(ctx context.Context, p *provisioning.Provisioner, cfg config) (func(), error) {
	var jobs []job
	stop := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, j := range jobs {
			_ = j.Stop(ctx)
		}
	}
	if cfg.verifyInterval > 0 {
		v, err := provisioning.NewVerifier(p, provisioning.VerifierConfig{Interval: cfg.verifyInterval})
		if err != nil {
			return nil, fmt.Errorf("-verify-interval: %w", err)
		}
		jobs = append(jobs, v)
	}
	if cfg.purgeInterval > 0 {
		r, err := provisioning.NewRetention(p, provisioning.RetentionConfig{Age: cfg.retention, Interval: cfg.purgeInterval})
		if err != nil {
			return nil, fmt.Errorf("-versions-retention, -purge-interval: %w", err)
		}
		jobs = append(jobs, r)
	}
	for i, j := range jobs {
		if err := j.Start(ctx); err != nil {
			jobs = jobs[:i]
			stop()
			return nil, err
		}
	}
	return stop, nil
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
	log.Warn("httpserver: PROVISIONING_IDP_KEYS is not set: identity provider client secrets are sealed with a key made " +
		"for this process only, and cannot be read after a restart (SSO of those providers breaks). " +
		"In production set PROVISIONING_IDP_KEYS=\"k1=$(head -c 32 /dev/urandom | base64)\": id=base64 keys of 32 bytes, " +
		"comma-separated, the first one seals; to rotate, put a new key first and keep the old ones until " +
		"ReencryptIdentityProviderSecrets has moved every secret")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return idp.ParseStaticKeys("ephemeral=" + base64.StdEncoding.EncodeToString(key))
}

// ownerToken makes sure the owner (-owner-email) exists and has a token,
// and says which one is in force. On the first start it creates the owner
// with the token fixed (PROVISIONING_OWNER_TOKEN) or a random one, and
// prints "owner token: <token>". On a later start a fixed token that the
// database does not know is registered for the owner, and printed; one it
// knows is only named in the log, as is the token printed on an earlier
// start when none is fixed. A fixed token that names another principal
// stops the server (checkOwnerToken has refused one of the wrong shape).
func ownerToken(ctx context.Context, p *provisioning.Provisioner, tokens *token.Issuer, cfg config, fixed string, stdout io.Writer, log *slog.Logger) error {
	owner, err := p.System().UserByEmail(ctx, cfg.ownerEmail)
	switch {
	case fault.KindOf(err) == fault.NotFound:
		// The operator names the owner's address: it counts as verified.
		owner, err = p.System().CreateUser(ctx, user.Create{Email: cfg.ownerEmail, EmailVerified: true})
		if err != nil {
			return err
		}
		log.Info("httpserver: first start: created the owner", "email", owner.Email)
	case err != nil:
		return err
	case fixed == "":
		log.Info("httpserver: the owner's token is the one printed on the first start (not shown again); "+
			"set PROVISIONING_OWNER_TOKEN to register a token of your choice", "owner", owner.Email)
		return nil
	default:
		switch who, err := tokens.Resolve(ctx, fixed); {
		case err == nil && who == provisioning.User(owner.ID):
			log.Info("httpserver: the owner's token is PROVISIONING_OWNER_TOKEN", "owner", owner.Email)
			return nil
		case err == nil:
			return errors.New("PROVISIONING_OWNER_TOKEN is the token of another principal than the owner: choose another one")
		case fault.KindOf(err) != fault.Unauthenticated:
			return err
		}
		// Unknown, or expired: an expired token is dropped and made again.
		if err := tokens.Revoke(ctx, fixed); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
	}
	secret := fixed
	if secret == "" {
		secret = token.NewSecret()
	}
	if _, err := tokens.IssueSecret(ctx, secret, provisioning.User(owner.ID), cfg.ownerTokenTTL); err != nil {
		return fmt.Errorf("owner token: %w", err)
	}
	log.Info("httpserver: the owner's token is the one printed on stdout", "owner", owner.Email, "expires_in", cfg.ownerTokenTTL)
	_, err = fmt.Fprintf(stdout, "owner token: %s\n", secret)
	return err
}

// checkOwnerToken refuses a PROVISIONING_OWNER_TOKEN that no token can
// have, saying what is accepted.
func checkOwnerToken(fixed string) error {
	if fixed == "" || token.ValidSecret(fixed) {
		return nil
	}
	what := fmt.Sprintf("has %d characters", len(fixed))
	if len(fixed) >= token.MinSecretLen && len(fixed) <= token.MaxSecretLen {
		what = "has a space, or a character that is not printable ASCII"
	}
	return fmt.Errorf("PROVISIONING_OWNER_TOKEN %s: it must have %d to %d printable ASCII characters, without spaces "+
		"(unset it to get a random token)", what, token.MinSecretLen, token.MaxSecretLen)
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
