package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/keyring"
	"certd/internal/lease"
	"certd/internal/registry"
	"certd/internal/store/storetest"
)

// openTemp opens a store in a temporary directory whose statements the
// plan check explains (plancheck_test.go).
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), WithTrace(sqlRecorder.trace))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCatalogueConformance(t *testing.T) {
	storetest.RunCatalogue(t, func(t *testing.T) catalogue.Repository { return openTemp(t) })
}

func TestMigrationsApplyOnceAndSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(ms) {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(ms))
	}
	if err := s.CreateUnit(ctx, catalogue.Unit{Code: "11100000000013338W", Name: "x", Version: 1, Stamp: storetest.Stamp("a")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := OpenFile(ctx, filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v2, _ := s2.SchemaVersion(ctx); v2 != v {
		t.Fatalf("reopen changed the schema version: %d", v2)
	}
	if _, err := s2.GetUnit(ctx, "11100000000013338W"); err != nil {
		t.Fatalf("data lost across reopen: %v", err)
	}
	var mode string
	if err := s2.read.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q (%v), want wal", mode, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := s.write.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err == nil {
		t.Fatal("a database newer than the binary must be refused")
	}
}

func TestCertificateConformance(t *testing.T) {
	storetest.RunCertificates(t, func(t *testing.T) certificate.Repository { return openTemp(t) })
}

func TestSealKeyConformance(t *testing.T) {
	storetest.RunSealKeys(t, func(t *testing.T) keyring.Repository { return openTemp(t) })
}

func TestRegistryConformance(t *testing.T) {
	storetest.RunRegistry(t, func(t *testing.T) registry.Repository { return openTemp(t) })
}

func TestCaseConformance(t *testing.T) {
	storetest.RunCases(t, func(t *testing.T) cases.Repository { return openTemp(t) })
}

func TestLeaseConformance(t *testing.T) {
	storetest.RunLeases(t, func(t *testing.T) lease.Repository { return openTemp(t) })
}
