// Package baseline is the bare gqlgen server that certd's load figures are
// compared with (issue 8): a minimal schema answering exactly the request
// mix of internal/loadgen, with the same JSON shapes, over the same store
// and the same domain code for issuance and verification, but without
// authentication, OPA authorization, the field audit or field hiding.
//
// The generated executor (generated.go) is committed; regenerate it from
// the repository root with
//
//	go tool gqlgen generate --config cmd/certd-bench/internal/baseline/gqlgen.yml
package baseline

//go:generate go -C ../../../.. tool gqlgen generate --config cmd/certd-bench/internal/baseline/gqlgen.yml
