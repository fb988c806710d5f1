package sqlite

import (
	"testing"

	"certd/internal/objection"
	"certd/internal/store/storetest"
)

func TestObjectionsConformance(t *testing.T) {
	storetest.RunObjections(t, func(t *testing.T) objection.Repository { return openTemp(t) })
}
