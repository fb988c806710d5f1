package app_test

import (
	"testing"

	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

// onBothStores runs run, in parallel subtests, against a demo certd on
// SQLite and (not in -short mode) on MongoDB through FerretDB, each built
// with opts.
func onBothStores(t *testing.T, run func(*testing.T, *testkit.Server), opts ...testkit.Option) {
	t.Helper()
	base := append([]testkit.Option{testkit.WithDemo()}, opts...)
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		run(t, testkit.Start(t, base...))
	})
	t.Run("Mongo", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("FerretDB in -short mode")
		}
		run(t, testkit.Start(t, append(base, testkit.WithMongo(ferrettest.Start(t)))...))
	})
}
