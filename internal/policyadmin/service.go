package policyadmin

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/identity"
)

// Timeouts and retries.
const (
	defaultTestTimeout    = 20 * time.Second // all tests of a bundle being published
	defaultExplainTimeout = 5 * time.Second  // one Explain evaluation
	syncTimeout           = 10 * time.Second // one round of Watch
	storeRetries          = 5                // version numbers or pointer moves lost to a concurrent writer
)

// Service is the policy administration use cases. It is safe for
// concurrent use.
type Service struct {
	repo   Repository
	authz  Authorizer
	engine Loader
	log    *slog.Logger
	now    func() time.Time

	testTimeout    time.Duration
	explainTimeout time.Duration
	// vetting admits one bundle's compile-and-test run at a time (publish
	// or dry run), so aliased dry runs in one request, or many requests,
	// queue instead of taking every core.
	vetting chan struct{}

	mu     sync.Mutex
	cached *compiledVersion // the active version compiled, for Explain
}

// compiledVersion is one stored version compiled.
type compiledVersion struct {
	version  int
	compiler *ast.Compiler
}

// NewService returns the policy administration service. engine is the
// instance's running policy engine; it must already run a policy (the
// embedded default, for example) so that Version answers.
func NewService(repo Repository, authz Authorizer, engine Loader, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		repo: repo, authz: authz, engine: engine, log: log, now: time.Now,
		testTimeout: defaultTestTimeout, explainTimeout: defaultExplainTimeout,
		vetting: make(chan struct{}, 1),
	}
}

// Bootstrap makes sure the store has an active policy and loads it into
// the engine. A store without one gets the embedded default bundle as
// version 1, active. Instances starting together may all try: the
// version and the pointer are each created once, and the others read
// what is there. On error the engine keeps the policy it runs.
func (s *Service) Bootstrap(ctx context.Context) error {
	_, _, err := s.repo.ActivePolicy(ctx)
	if apperr.CodeIs(err, apperr.NotFound) {
		err = s.storeDefault(ctx)
	}
	if err != nil {
		return fmt.Errorf("policy bootstrap: %w", err)
	}
	version, _, err := s.repo.ActivePolicy(ctx)
	if err != nil {
		return fmt.Errorf("policy bootstrap: read the active version: %w", err)
	}
	v, err := s.repo.PolicyVersion(ctx, version)
	if err != nil {
		return fmt.Errorf("policy bootstrap: read active version %d: %w", version, err)
	}
	if err := s.engine.Load(ctx, v.Modules, v.Version); err != nil {
		return fmt.Errorf("policy bootstrap: load active version %d: %w", version, err)
	}
	s.log.Info("policy loaded", "version", v.Version, "published_at", v.PublishedAt, "author", v.Author)
	return nil
}

// storeDefault stores the embedded bundle as version 1 unless a version 1
// exists, and creates the pointer to version 1 unless it exists.
func (s *Service) storeDefault(ctx context.Context) error {
	_, err := s.repo.PolicyVersion(ctx, 1)
	if apperr.CodeIs(err, apperr.NotFound) {
		mods, err := authz.DefaultModules()
		if err != nil {
			return fmt.Errorf("read the embedded policy: %w", err)
		}
		results, err := authz.RunTests(ctx, mods)
		if err != nil {
			return fmt.Errorf("test the embedded policy: %w", err)
		}
		passed := 0
		for _, r := range results {
			if !r.Passed {
				return fmt.Errorf("the embedded policy fails its test %s: %s", r.Name, r.Detail)
			}
			passed++
		}
		err = s.repo.InsertPolicy(ctx, Version{
			Version: 1, Modules: mods, Message: "embedded default policy", Author: "system",
			PublishedAt: s.now().UTC().Truncate(time.Millisecond), TestsPassed: passed,
		})
		if err != nil && !apperr.CodeIs(err, apperr.Conflict) {
			return fmt.Errorf("store the embedded policy: %w", err)
		}
		if err == nil {
			s.log.Info("embedded default policy stored as version 1", "tests", passed)
		}
	} else if err != nil {
		return fmt.Errorf("read policy version 1: %w", err)
	}
	if err := s.repo.SetActivePolicy(ctx, 1, 0); err != nil && !apperr.CodeIs(err, apperr.Conflict) {
		return fmt.Errorf("activate policy version 1: %w", err)
	}
	return nil
}

// Publish stores a new policy version and makes it active, if the caller
// may publish and the bundle passes review: it compiles (the engine's
// builtins only: no http.send), defines data.certd.authz.allow, has tests
// and every test passes within the test timeout. A refused bundle is
// POLICY_REJECTED with the compiler's errors or the failing tests as
// details, and changes nothing.
//
// If another version published at the same time became active first,
// Publish stores this one but leaves the newer active, and returns the
// stored version with a CONFLICT error.
func (s *Service) Publish(ctx context.Context, modules []authz.Module, message string) (Version, error) {
	if err := s.authz.Authorize(ctx, ActionPublish, map[string]any{"modules": len(modules)}); err != nil {
		return Version{}, err
	}
	p, err := identity.Require(ctx)
	if err != nil {
		return Version{}, err
	}
	mods, message, err := checkInput(modules, message)
	if err != nil {
		return Version{}, err
	}
	results, err := s.vet(ctx, mods)
	if err != nil {
		return Version{}, err
	}
	passed := len(results)
	v := Version{Modules: mods, Message: message, Author: p.Subject,
		PublishedAt: s.now().UTC().Truncate(time.Millisecond), TestsPassed: passed}
	if v.Version, err = s.insert(ctx, v); err != nil {
		return Version{}, err
	}
	s.log.Info("policy version stored", "version", v.Version, "author", v.Author, "tests", passed)
	audit.Wrote(ctx, ActionPublish, audit.Ref{Target: fmt.Sprintf("policy version %d", v.Version)}, fmt.Sprintf("%d tests passed", passed)) // the message is the author's text: it stays with the version
	if err := s.activate(ctx, v.Version, true); err != nil {
		return v, err
	}
	if err := s.engine.Load(ctx, v.Modules, v.Version); err != nil {
		// Vetting loaded it already; the watcher will try again.
		return v, fmt.Errorf("load published policy version %d: %w", v.Version, err)
	}
	s.log.Info("policy published", "version", v.Version, "author", v.Author, "message", v.Message)
	return v, nil
}

// insert stores v under the next free version number and returns it.
func (s *Service) insert(ctx context.Context, v Version) (int, error) {
	for range storeRetries {
		all, err := s.repo.PolicyVersions(ctx)
		if err != nil {
			return 0, err
		}
		v.Version = 1
		if len(all) > 0 {
			v.Version = all[len(all)-1].Version + 1
		}
		err = s.repo.InsertPolicy(ctx, v)
		if !apperr.CodeIs(err, apperr.Conflict) {
			return v.Version, err
		}
	}
	return 0, apperr.Conflictf("other policy versions are being published; try again")
}

// activate moves the active pointer to version. With forwardOnly it
// leaves a newer active version alone (CONFLICT).
func (s *Service) activate(ctx context.Context, version int, forwardOnly bool) error {
	for range storeRetries {
		cur, rev, err := s.repo.ActivePolicy(ctx)
		switch {
		case apperr.CodeIs(err, apperr.NotFound):
			cur, rev = 0, 0
		case err != nil:
			return err
		}
		if cur == version {
			return nil
		}
		if forwardOnly && cur > version {
			return apperr.Conflictf("policy version %d is stored, but version %d, published meanwhile, is active; roll back to %d to use it", version, cur, version)
		}
		err = s.repo.SetActivePolicy(ctx, version, rev)
		if !apperr.CodeIs(err, apperr.Conflict) {
			return err
		}
	}
	return apperr.Conflictf("the active policy keeps changing; try again")
}

// Rollback makes a stored version active again.
func (s *Service) Rollback(ctx context.Context, version int) (Version, error) {
	if err := s.authz.Authorize(ctx, ActionRollback, map[string]any{"version": version}); err != nil {
		return Version{}, err
	}
	p, err := identity.Require(ctx)
	if err != nil {
		return Version{}, err
	}
	v, err := s.repo.PolicyVersion(ctx, version)
	if err != nil {
		return Version{}, err
	}
	// Stored versions compiled when published; this certd may be newer.
	if err := authz.Check(v.Modules); err != nil {
		return Version{}, compileRejection(err)
	}
	if _, err := authz.NewEngine(ctx, v.Modules, v.Version); err != nil {
		if ctx.Err() != nil {
			return Version{}, ctx.Err()
		}
		return Version{}, rejected([]string{err.Error()}, "the policy engine cannot load policy version %d", version)
	}
	if err := s.activate(ctx, v.Version, false); err != nil {
		return Version{}, err
	}
	audit.Wrote(ctx, ActionRollback, audit.Ref{Target: fmt.Sprintf("policy version %d", v.Version)}, "")
	if err := s.engine.Load(ctx, v.Modules, v.Version); err != nil {
		return v, fmt.Errorf("load policy version %d: %w", v.Version, err)
	}
	s.log.Info("policy rolled back", "version", v.Version, "by", p.Subject)
	return v, nil
}

// Versions lists every stored version, oldest first.
func (s *Service) Versions(ctx context.Context) ([]Version, error) {
	if err := s.authz.Authorize(ctx, ActionRead, nil); err != nil {
		return nil, err
	}
	return s.repo.PolicyVersions(ctx)
}

// Active returns the active version.
func (s *Service) Active(ctx context.Context) (Version, error) {
	if err := s.authz.Authorize(ctx, ActionRead, nil); err != nil {
		return Version{}, err
	}
	version, _, err := s.repo.ActivePolicy(ctx)
	if err != nil {
		return Version{}, err
	}
	return s.repo.PolicyVersion(ctx, version)
}

// Watch keeps the engine on the active version until ctx is done: right
// away and then every interval it reads the pointer and loads the version
// it names when the engine runs another. Errors are logged; a version
// that does not load leaves the running one in place and is not tried
// again until the pointer moves.
func (s *Service) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	broken := 0 // the version that last failed to load
	for {
		s.sync(ctx, &broken)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sync is one round of Watch.
func (s *Service) sync(ctx context.Context, broken *int) {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	version, _, err := s.repo.ActivePolicy(ctx)
	switch {
	case apperr.CodeIs(err, apperr.NotFound):
		return // not bootstrapped yet
	case err != nil:
		if ctx.Err() == nil {
			s.log.Warn("policy watch: read the active version", "err", err)
		}
		return
	}
	running := s.engine.Version()
	if version == running || version == *broken {
		return
	}
	v, err := s.repo.PolicyVersion(ctx, version)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("policy watch: read the active version", "version", version, "err", err)
		}
		return
	}
	if err := s.engine.Load(ctx, v.Modules, v.Version); err != nil {
		if ctx.Err() != nil {
			return
		}
		*broken = version
		s.log.Error("policy watch: the active version does not load; keeping the running one",
			"version", version, "running", running, "err", err)
		return
	}
	*broken = 0
	s.log.Info("policy version loaded", "version", version, "previous", running, "author", v.Author, "message", v.Message)
}
