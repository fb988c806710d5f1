// Package apperr holds the error codes of certd's public contract and the
// sentinel errors the domain packages wrap. The GraphQL error presenter maps
// them to extensions.code in one place; anything else is INTERNAL.
package apperr

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Code is a stable extensions.code value from the public contract.
type Code string

// The codes of the public contract.
const (
	Unauthenticated    Code = "UNAUTHENTICATED"
	Forbidden          Code = "FORBIDDEN"
	NotFound           Code = "NOT_FOUND"
	InvalidInput       Code = "INVALID_INPUT"
	Conflict           Code = "CONFLICT"
	NotCitable         Code = "NOT_CITABLE"
	PolicyRejected     Code = "POLICY_REJECTED"
	AuditUnavailable   Code = "AUDIT_UNAVAILABLE"
	ComplexityExceeded Code = "COMPLEXITY_LIMIT_EXCEEDED"
	RateLimited        Code = "RATE_LIMITED"
	Internal           Code = "INTERNAL"
)

// Error is an error that carries a contract code and a message that is safe
// to show to the client. Details lists further safe lines (for example the
// failing policy tests).
type Error struct {
	Code    Code
	Message string
	Details []string
	// RetryAfter, for RATE_LIMITED, is how long the client should wait;
	// it becomes extensions.retryAfter (seconds) and, on plain HTTP
	// routes, the Retry-After header.
	RetryAfter time.Duration
	err        error
}

func (e *Error) Error() string {
	if e.err != nil {
		return e.Message + ": " + e.err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, apperr.ErrNotFound) matches every NOT_FOUND error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// Sentinels for errors.Is; they match any error of their code.
var (
	ErrUnauthenticated = &Error{Code: Unauthenticated}
	ErrForbidden       = &Error{Code: Forbidden}
	ErrNotFound        = &Error{Code: NotFound}
	ErrInvalid         = &Error{Code: InvalidInput}
	ErrConflict        = &Error{Code: Conflict}
	ErrNotCitable      = &Error{Code: NotCitable}
	ErrAudit           = &Error{Code: AuditUnavailable}
)

// New returns an error with a code and a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with a code and a client-safe message that keeps
// cause for logs; the cause is never shown to the client.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), err: cause}
}

// Invalid is shorthand for an INVALID_INPUT error.
func Invalid(format string, args ...any) *Error { return New(InvalidInput, format, args...) }

// NotFoundf is shorthand for a NOT_FOUND error.
func NotFoundf(format string, args ...any) *Error { return New(NotFound, format, args...) }

// Conflictf is shorthand for a CONFLICT error.
func Conflictf(format string, args ...any) *Error { return New(Conflict, format, args...) }

// Forbiddenf is shorthand for a FORBIDDEN error.
func Forbiddenf(format string, args ...any) *Error { return New(Forbidden, format, args...) }

// CodeOf returns the contract code of err and the message to show. Errors
// without a code are INTERNAL with a generic message.
func CodeOf(err error) (Code, string, []string) {
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		msg := e.Message
		if msg == "" {
			msg = defaultMessage(e.Code)
		}
		return e.Code, msg, e.Details
	}
	return Internal, "internal error", nil
}

func defaultMessage(c Code) string {
	switch c {
	case Unauthenticated:
		return "authentication required"
	case Forbidden:
		return "not allowed"
	case NotFound:
		return "not found"
	case InvalidInput:
		return "invalid input"
	case Conflict:
		return "conflict"
	case NotCitable:
		return "not citable"
	case AuditUnavailable:
		return "audit log unavailable; no data returned"
	case RateLimited:
		return "too many requests; try again later"
	}
	return "error"
}

// RateLimitedAfter is a RATE_LIMITED error telling the client to wait
// retry.
func RateLimitedAfter(retry time.Duration, format string, args ...any) *Error {
	e := New(RateLimited, format, args...)
	e.RetryAfter = retry
	return e
}

// RetrySeconds is e's RetryAfter in whole seconds, at least 1, for the
// Retry-After header; 0 when err is not a RATE_LIMITED error.
func RetrySeconds(err error) int {
	var e *Error
	if !errors.As(err, &e) || e.Code != RateLimited {
		return 0
	}
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// CodeIs reports whether err carries code.
func CodeIs(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Truncate shortens s to at most n bytes on a character boundary, adding
// "..." when it cut something: for values quoted in client messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
