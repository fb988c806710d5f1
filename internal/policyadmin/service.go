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
	"certd/internal/text"
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
// exists, and activates version 1 unless the pointer exists. The embedded
// bundle is reviewed with certd's code, so it is approved by "system".
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
			Version: 1, Modules: mods, Message: "embedded default policy", Author: SystemAuthor,
			PublishedAt: s.now().UTC().Truncate(time.Millisecond), TestsPassed: passed, State: Proposed,
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
	err = s.repo.ActivatePolicy(ctx, Verdict{Version: 1, By: SystemAuthor, At: s.now().UTC().Truncate(time.Millisecond)}, 0)
	if err != nil && !apperr.CodeIs(err, apperr.Conflict) {
		return fmt.Errorf("activate policy version 1: %w", err)
	}
	return nil
}

// SystemAuthor is the author and approver of the embedded default policy.
const SystemAuthor = "system"

// Publish proposes a new policy version, if the caller may publish and the
// bundle passes review: it compiles (the engine's builtins only: no
// http.send), defines data.certd.authz.allow, has tests, every test passes
// within the test timeout, and it passes the invariants. A refused bundle
// is POLICY_REJECTED with the compiler's errors or the failing tests as
// details, and changes nothing. The proposal is based on the version
// active now and becomes active only when another policy admin approves
// it (Approve). basedOn, when not 0, is the version the edits started
// from: if another version is active by now, the proposal is refused
// (CONFLICT), since approving it would undo that version's changes.
func (s *Service) Publish(ctx context.Context, modules []authz.Module, message string, basedOn int) (Version, error) {
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
	return s.propose(ctx, p, Version{Modules: mods, Message: message, BasedOn: basedOn}, ActionPublish)
}

// propose vets v's modules and stores v as a proposal by p based on the
// active version (which must be v.BasedOn when that is set).
func (s *Service) propose(ctx context.Context, p *identity.Principal, v Version, action string) (Version, error) {
	results, err := s.vet(ctx, v.Modules)
	if err != nil {
		return Version{}, err
	}
	active, _, err := s.repo.ActivePolicy(ctx)
	if err != nil {
		return Version{}, err
	}
	if v.BasedOn != 0 && v.BasedOn != active {
		return Version{}, apperr.Conflictf("these edits start from policy version %d, but version %d is active now: "+
			"proposing them would undo its changes; start again from version %d", v.BasedOn, active, active)
	}
	v.BasedOn = active
	v.Author, v.State, v.TestsPassed = p.Subject, Proposed, len(results)
	v.PublishedAt = s.now().UTC().Truncate(time.Millisecond)
	if v.Version, err = s.insert(ctx, v); err != nil {
		return Version{}, err
	}
	// The message is the author's text: it stays with the version.
	audit.Wrote(ctx, action, versionRef(v.Version), fmt.Sprintf("%d tests passed", v.TestsPassed))
	s.log.Info("policy version proposed", "version", v.Version, "author", v.Author, "based_on", v.BasedOn,
		"rollback_of", v.RollbackOf, "tests", v.TestsPassed, "message", v.Message)
	return v, nil
}

func versionRef(version int) audit.Ref {
	return audit.Ref{Target: fmt.Sprintf("policy version %d", version)}
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
	return 0, apperr.Conflictf("other policy versions are being proposed; try again")
}

// Rollback proposes a return to an earlier version: a new version with
// that version's modules, which needs another policy admin's approval like
// any proposal, and must pass today's review (its tests and the
// invariants), not only the one it passed then. Only a version that was
// once active can be restored.
func (s *Service) Rollback(ctx context.Context, version int) (Version, error) {
	if err := s.authz.Authorize(ctx, ActionRollback, map[string]any{"version": version}); err != nil {
		return Version{}, err
	}
	p, err := identity.Require(ctx)
	if err != nil {
		return Version{}, err
	}
	old, err := s.repo.PolicyVersion(ctx, version)
	if err != nil {
		return Version{}, err
	}
	switch old.State {
	case Proposed:
		return Version{}, apperr.Invalid("policy version %d is a proposal, never active: approve or reject it instead", version)
	case Rejected:
		return Version{}, apperr.Invalid("policy version %d was rejected; only a version that was active can be restored", version)
	case Active:
		return Version{}, apperr.Conflictf("policy version %d is the active version already", version)
	}
	return s.propose(ctx, p, Version{Modules: old.Modules, RollbackOf: version,
		Message: apperr.Truncate(fmt.Sprintf("rollback to version %d: %s", version, old.Message), maxMessage)}, ActionRollback)
}

// Approve makes a proposal active. The approver must be another policy
// admin than its author (and, for a rollback, than the author of the
// version it restores): this holds whatever the policy says, and the
// policy decides policy.approve besides. The proposal must still be based
// on the active version, so an approval never undoes a change approved
// after it was proposed (CONFLICT: propose again), and its bundle must
// pass review again, with this instance's invariants.
func (s *Service) Approve(ctx context.Context, version int) (Version, error) {
	p, v, res, err := s.decision(ctx, version)
	if err != nil {
		return Version{}, err
	}
	ref := versionRef(version)
	// Not one's own proposal, whatever the policy says.
	if v.Author == p.Subject {
		err := apperr.Forbiddenf("policy version %d was proposed by you: another policy admin must approve it", version)
		return Version{}, audit.Refused(ctx, ActionApprove, ref, err)
	}
	if res["restored_author"] == p.Subject {
		err := apperr.Forbiddenf("policy version %d restores version %d, which you wrote: another policy admin must approve it", version, v.RollbackOf)
		return Version{}, audit.Refused(ctx, ActionApprove, ref, err)
	}
	if err := s.authz.Authorize(ctx, ActionApprove, res); err != nil {
		return Version{}, audit.Refused(ctx, ActionApprove, ref, err)
	}
	if v.State != Proposed {
		return Version{}, NotProposed(v)
	}
	cur, rev, err := s.repo.ActivePolicy(ctx)
	if err != nil {
		return Version{}, err
	}
	if cur != v.BasedOn {
		return Version{}, apperr.Conflictf("policy version %d was proposed on top of version %d, but version %d has become active since: "+
			"approving it would undo that change; propose it again on top of version %d, or reject it", version, v.BasedOn, cur, cur)
	}
	if _, err := s.vet(ctx, v.Modules); err != nil {
		return Version{}, err
	}
	if err := s.repo.ActivatePolicy(ctx, Verdict{Version: version, By: p.Subject, At: s.now().UTC().Truncate(time.Millisecond)}, rev); err != nil {
		return Version{}, err
	}
	audit.Wrote(ctx, ActionApprove, ref, fmt.Sprintf("replaces version %d", cur))
	s.log.Info("policy version approved", "version", version, "author", v.Author, "approved_by", p.Subject, "previous", cur)
	if err := s.engine.Load(ctx, v.Modules, v.Version); err != nil {
		// Vetting loaded it already; the watcher will try again.
		s.log.Error("load the approved policy version", "version", version, "err", err)
	}
	return s.repo.PolicyVersion(ctx, version)
}

// Reject closes a proposal without activating it, with a reason. Its
// author may withdraw it this way, and so may another policy admin.
func (s *Service) Reject(ctx context.Context, version int, reason string) (Version, error) {
	reason, err := text.Required("a reason", reason, maxMessage)
	if err != nil {
		return Version{}, err
	}
	p, v, res, err := s.decision(ctx, version)
	if err != nil {
		return Version{}, err
	}
	if err := s.authz.Authorize(ctx, ActionReject, res); err != nil {
		return Version{}, audit.Refused(ctx, ActionReject, versionRef(version), err)
	}
	if v.State != Proposed {
		return Version{}, NotProposed(v)
	}
	if err := s.repo.RejectPolicy(ctx, Verdict{Version: version, By: p.Subject, At: s.now().UTC().Truncate(time.Millisecond), Reason: reason}); err != nil {
		return Version{}, err
	}
	audit.Wrote(ctx, ActionReject, versionRef(version), "") // the reason stays with the version
	s.log.Info("policy version rejected", "version", version, "author", v.Author, "rejected_by", p.Subject, "reason", reason)
	return s.repo.PolicyVersion(ctx, version)
}

// decision reads the proposal an approval or rejection is about, and the
// resource the policy is asked about: the version, its author, its state,
// what it is based on and, for a rollback, the author of the version it
// restores ("" otherwise).
func (s *Service) decision(ctx context.Context, version int) (*identity.Principal, Version, map[string]any, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return nil, Version{}, nil, err
	}
	v, err := s.repo.PolicyVersion(ctx, version)
	if err != nil {
		return nil, Version{}, nil, err
	}
	restored := ""
	if v.RollbackOf != 0 {
		old, err := s.repo.PolicyVersion(ctx, v.RollbackOf)
		if err != nil {
			return nil, Version{}, nil, fmt.Errorf("read policy version %d restored by %d: %w", v.RollbackOf, version, err)
		}
		restored = old.Author
	}
	return p, v, map[string]any{"version": v.Version, "author": v.Author, "based_on": v.BasedOn,
		"rollback_of": v.RollbackOf, "restored_author": restored, "state": string(v.State)}, nil
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
