package certificate

import (
	"time"

	"certd/internal/apperr"
)

// Action moves a licence between states (第九条).
type Action string

// Actions of the contract.
const (
	Suspend       Action = "SUSPEND"
	Resume        Action = "RESUME"
	Pledge        Action = "PLEDGE"
	ReleasePledge Action = "RELEASE_PLEDGE"
	ReportLost    Action = "REPORT_LOST"
	Revoke        Action = "REVOKE"
	Cancel        Action = "CANCEL"
	Abolish       Action = "ABOLISH"
)

// transitions lists, for each state, where each allowed action leads.
// Suspension and loss are lifted by RESUME, a pledge by RELEASE_PLEDGE; a
// pledged licence cannot be cancelled or suspended until the pledge is
// released, but it can be revoked or abolished by the authority. Revoked,
// cancelled, abolished, expired and superseded versions are final.
var transitions = map[State]map[Action]State{
	Valid: {
		Suspend: Suspended, Pledge: Pledged, ReportLost: Lost,
		Revoke: Revoked, Cancel: Cancelled, Abolish: Abolished,
	},
	Suspended: {Resume: Valid, ReportLost: Lost, Revoke: Revoked, Cancel: Cancelled, Abolish: Abolished},
	Pledged:   {ReleasePledge: Valid, Revoke: Revoked, Abolish: Abolished},
	Lost:      {Resume: Valid, Revoke: Revoked, Cancel: Cancelled, Abolish: Abolished},
}

// Next returns the state action leads to from s, or CONFLICT when the
// move is not allowed.
func Next(s State, a Action) (State, error) {
	if s.Final() {
		return "", apperr.Conflictf("the licence is %s, a final state: %s is not possible", s, a)
	}
	to, ok := transitions[s][a]
	if !ok {
		if _, known := transitions[Valid][a]; !known && a != Resume && a != ReleasePledge {
			return "", apperr.Invalid("unknown action %q", a)
		}
		return "", apperr.Conflictf("%s is not possible on a %s licence", a, s)
	}
	return to, nil
}

// Clock tells the date in the city's time zone; licences are valid for
// whole days there.
type Clock struct {
	Now func() time.Time
	Loc *time.Location
}

// Today is the current date in the city, as midnight UTC of that date.
func (c Clock) Today() time.Time {
	n := c.Now().In(c.Loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// Citability says whether a version may be cited today and why not.
func (c *Certificate) Citability(today time.Time) (bool, []string) {
	var why []string
	if !c.Current {
		why = append(why, "superseded by a newer version "+c.Successor)
	}
	if c.State != Valid {
		why = append(why, "state is "+string(c.State))
	}
	if c.ValidFrom.After(today) {
		why = append(why, "not valid before "+c.ValidFrom.Format(time.DateOnly))
	}
	if c.ValidUntil != nil && c.ValidUntil.Before(today) {
		why = append(why, "expired after "+c.ValidUntil.Format(time.DateOnly))
	}
	return len(why) == 0, why
}

// Citable reports whether the version may be cited today.
func (c *Certificate) Citable(today time.Time) bool {
	ok, _ := c.Citability(today)
	return ok
}
