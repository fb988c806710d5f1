package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"certd/internal/apperr"
)

// presentError is the one place where errors become GraphQL errors: domain
// errors keep their contract code and safe message, parse and validation
// failures become INVALID_INPUT, and anything else is INTERNAL with the
// detail logged, never shown.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var ae *apperr.Error
		if errors.As(err, &ae) {
			code, msg, details := apperr.CodeOf(ae)
			gerr.Message = msg
			setCode(gerr, code)
			if len(details) > 0 {
				gerr.Extensions["details"] = details
			}
			if s := apperr.RetrySeconds(ae); s > 0 {
				gerr.Extensions["retryAfter"] = s
			}
			if code == apperr.Internal || code == apperr.AuditUnavailable {
				log.ErrorContext(ctx, "request failed", "code", code, "err", err)
			}
			return gerr
		}
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			// Errors gqlgen raised itself: parse, validation, complexity.
			switch c, _ := ge.Extensions["code"].(string); c {
			case string(apperr.ComplexityExceeded), string(apperr.InvalidInput):
				// Ours, from an extension (depth limit, introspection off).
				return gerr
			case errcode.ParseFailed, errcode.ValidationFailed:
				setCode(gerr, apperr.InvalidInput)
				return gerr
			}
		}
		log.ErrorContext(ctx, "internal error", "err", err, "path", gerr.Path.String())
		return &gqlerror.Error{Message: "internal error", Path: gerr.Path, Extensions: map[string]any{"code": string(apperr.Internal)}}
	}
}

func setCode(e *gqlerror.Error, code apperr.Code) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = string(code)
}

// recoverPanic turns a resolver panic into an INTERNAL error and logs it.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p))
		return errors.New("panic")
	}
}
