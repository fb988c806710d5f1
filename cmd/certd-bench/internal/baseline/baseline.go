package baseline

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"certd/internal/app"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/keyring"
	"certd/internal/registry"
	"certd/internal/seal"
)

// Store is what the baseline reads and writes: the repositories of certd's
// store (an app.Store is one).
type Store interface {
	certificate.Repository
	cases.Repository
	catalogue.Repository
	keyring.Repository
	registry.Repository
}

// Options say which data the baseline serves.
type Options struct {
	// Store, when set, is an open store to share (a running certd's);
	// otherwise New opens the one of DataDir or MongoURI as certd does.
	Store    Store
	DataDir  string
	MongoURI string
	// MasterKey unlocks the units' seal keys as certd's --master-key
	// does; empty means the data directory's key file.
	MasterKey string
	// Memory serves the licences and cases from maps, each row read from
	// the store once: the in-memory baseline.
	Memory bool
	Logger *slog.Logger
}

// Server is a bare gqlgen server over certd's data.
type Server struct {
	handler    http.Handler
	closeStore func() error
}

// allowAll is the baseline's authorizer: everything is allowed.
type allowAll struct{}

func (allowAll) Authorize(context.Context, string, map[string]any) error { return nil }

// New builds the baseline over the store of cfg. Its executable schema is
// served the way gqlgen's own examples do: the POST transport and a parsed
// query cache, nothing else.
func New(ctx context.Context, cfg Options) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DataDir == "" && cfg.MasterKey == "" {
		return nil, errors.New("baseline: a data directory or a master key is needed to unlock the seal keys")
	}
	s := &Server{}
	st := cfg.Store
	if st == nil {
		opened, closeFn, err := app.OpenStore(ctx, cfg.DataDir, cfg.MongoURI, cfg.Logger)
		if err != nil {
			return nil, err
		}
		st, s.closeStore = opened, closeFn
	}
	if cfg.Memory {
		st = newMemoryStore(st)
	}
	var master *seal.MasterKey
	var err error
	if cfg.MasterKey != "" {
		master, err = seal.ParseMasterKey(cfg.MasterKey)
	} else {
		master, err = seal.LoadOrCreateMasterKey(cfg.DataDir)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("seal master key: %w", err)
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		s.Close()
		return nil, err
	}
	cal, err := certificate.NewCalendar(loc, nil, nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	keys := keyring.New(st, master)
	cat := catalogue.NewService(st, allowAll{}, keys)
	// The same licence service as certd's, so that issuance validates,
	// numbers, seals and stores in the same way; only the authorizer
	// differs. Its policy filters are never asked: the baseline lists
	// licences from the store itself.
	lic := certificate.NewService(certificate.Deps{
		Repo: st, Catalog: cat, Keys: keys, Holders: registry.NewChecker(st),
		Authz: allowAll{}, Calendar: cal,
	})
	es := NewExecutableSchema(Config{Resolvers: &Resolver{store: st, catalogue: cat, licences: lic}})
	gql := handler.New(es)
	gql.AddTransport(transport.POST{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", withCaller(gql))
	s.handler = mux
	return s, nil
}

// Handler serves POST /graphql.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the store when New opened it.
func (s *Server) Close() error {
	if s.closeStore == nil {
		return nil
	}
	err := s.closeStore()
	s.closeStore = nil
	return err
}

// withCaller puts the bearer token's claims in the request context as the
// caller, WITHOUT verifying the token: the baseline only needs to know who
// "me" is and which unit issues or opens a case. It is a benchmark
// yardstick for loopback use, never a server to expose.
func withCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, err := claims(r.Header.Get("Authorization")); err == nil && p != nil {
			r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// claims decodes the payload of a bearer JWT; nil when there is none.
func claims(header string) (*identity.Principal, error) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return nil, nil
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c struct {
		Sub    string   `json:"sub"`
		Org    string   `json:"org"`
		Roles  []string `json:"roles"`
		Holder string   `json:"holder"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &identity.Principal{Subject: c.Sub, Org: c.Org, Roles: c.Roles, Holder: c.Holder}, nil
}
