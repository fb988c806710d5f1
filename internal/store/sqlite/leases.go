package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"certd/internal/lease"
)

// Leases are rows of the leases table, read and changed in one write
// transaction each, which serializes every change of a lease.

var _ lease.Repository = (*Store)(nil)

func scanLease(sc interface{ Scan(...any) error }) (lease.Lease, error) {
	var l lease.Lease
	var expires, notedAt int64
	err := sc.Scan(&l.Name, &l.Owner, &l.Token, &expires, &l.Note, &notedAt)
	l.Expires, l.NotedAt = fromMillis(expires), fromMillis(notedAt)
	return l, err
}

const leaseCols = "name, owner, token, expires, note, noted_at"

// AcquireLease implements lease.Repository.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (lease.Lease, bool, error) {
	var out lease.Lease
	var ok bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanLease(tx.QueryRowContext(ctx, "SELECT "+leaseCols+" FROM leases WHERE name = ?", name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			cur = lease.Lease{Name: name}
		case err != nil:
			return err
		}
		switch {
		case cur.Owner == owner && owner != "":
		case cur.Held(now):
			out = cur
			return nil
		default:
			cur.Owner, cur.Token = owner, cur.Token+1
		}
		cur.Expires = now.Add(ttl).UTC().Truncate(time.Millisecond)
		_, err = tx.ExecContext(ctx, `INSERT INTO leases (`+leaseCols+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires = excluded.expires`,
			name, cur.Owner, cur.Token, millis(cur.Expires), cur.Note, millis(cur.NotedAt))
		out, ok = cur, true
		return err
	})
	if err != nil {
		return lease.Lease{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return out, ok, nil
}

// changeHeldLease runs set (an UPDATE's SET clause with its arguments) on
// l's row if l.Owner still holds it with l.Token, else lease.ErrLost.
func (s *Store) changeHeldLease(ctx context.Context, l lease.Lease, set string, args ...any) error {
	if l.Owner == "" {
		return lease.ErrLost
	}
	res, err := s.write.ExecContext(ctx, "UPDATE leases SET "+set+" WHERE name = ? AND owner = ? AND token = ?",
		append(args, l.Name, l.Owner, l.Token)...)
	if err != nil {
		return fmt.Errorf("lease %s: %w", l.Name, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return lease.ErrLost
	}
	return nil
}

// RenewLease implements lease.Repository.
func (s *Store) RenewLease(ctx context.Context, l lease.Lease, now time.Time, ttl time.Duration) (lease.Lease, error) {
	l.Expires = now.Add(ttl).UTC().Truncate(time.Millisecond)
	if err := s.changeHeldLease(ctx, l, "expires = ?", millis(l.Expires)); err != nil {
		return lease.Lease{}, err
	}
	return s.GetLease(ctx, l.Name)
}

// NoteLease implements lease.Repository.
func (s *Store) NoteLease(ctx context.Context, l lease.Lease, note string, at time.Time) error {
	return s.changeHeldLease(ctx, l, "note = ?, noted_at = ?", note, millis(at))
}

// ReleaseLease implements lease.Repository.
func (s *Store) ReleaseLease(ctx context.Context, l lease.Lease) error {
	if err := s.changeHeldLease(ctx, l, "owner = '', expires = 0"); !errors.Is(err, lease.ErrLost) {
		return err
	}
	return nil
}

// GetLease implements lease.Repository.
func (s *Store) GetLease(ctx context.Context, name string) (lease.Lease, error) {
	l, err := scanLease(s.read.QueryRowContext(ctx, "SELECT "+leaseCols+" FROM leases WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return lease.Lease{Name: name}, nil
	}
	if err != nil {
		return lease.Lease{}, fmt.Errorf("read lease %s: %w", name, err)
	}
	return l, nil
}
