// Package policy embeds the default Rego policy bundle: the modules that
// decide every authorization question in certd, with their tests. Policy
// admins publish new versions at run time; this bundle is what a fresh
// store starts with.
package policy

import "embed"

// FS holds the *.rego modules of the default bundle, tests included.
//
//go:embed *.rego
var FS embed.FS
