package authz

import (
	"context"

	"github.com/open-policy-agent/opa/v1/ast"
)

// CaseLimits are the policy's numbers for case work, set in the package
// certd.cases of the bundle (policy/case_limits.rego).
type CaseLimits struct {
	// WalkInDailyQuota is how many walk-in cases (cases without an
	// application) one person may open per day in the city
	// (data.certd.cases.walk_in_daily_quota).
	WalkInDailyQuota int
	// CaseWorkingDays is how many working days after it is opened a case
	// closes by itself (data.certd.cases.close_after_working_days).
	CaseWorkingDays int
	// ApplicationWorkingDays is how many working days a submitted
	// application waits to be opened before it expires
	// (data.certd.cases.application_working_days).
	ApplicationWorkingDays int
}

// Defaults of CaseLimits when the policy leaves a number undefined.
const (
	DefaultWalkInDailyQuota       = 10
	DefaultCaseWorkingDays        = 10
	DefaultApplicationWorkingDays = 10
)

// caseLimits reads the numbers of data.certd.cases; each must be a
// positive whole number when defined.
func caseLimits(ctx context.Context, c *ast.Compiler) (CaseLimits, error) {
	var l CaseLimits
	var err error
	for _, n := range []struct {
		ref string
		def int
		to  *int
	}{
		{"data.certd.cases.walk_in_daily_quota", DefaultWalkInDailyQuota, &l.WalkInDailyQuota},
		{"data.certd.cases.close_after_working_days", DefaultCaseWorkingDays, &l.CaseWorkingDays},
		{"data.certd.cases.application_working_days", DefaultApplicationWorkingDays, &l.ApplicationWorkingDays},
	} {
		if *n.to, err = positiveNumber(ctx, c, n.ref, n.def); err != nil {
			return CaseLimits{}, err
		}
	}
	return l, nil
}

// CaseLimits are the active policy's numbers for case work.
func (e *Engine) CaseLimits() CaseLimits { return e.active.Load().cases }
