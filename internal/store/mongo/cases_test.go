package mongo_test

import (
	"testing"

	"certd/internal/cases"
	"certd/internal/store/storetest"
)

func TestCases(t *testing.T) {
	storetest.RunCases(t, func(t *testing.T) cases.Repository { return open(t) })
}
