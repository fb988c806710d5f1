package mongo_test

import (
	"testing"

	"certd/internal/objection"
	"certd/internal/store/storetest"
)

func TestObjections(t *testing.T) {
	storetest.RunObjections(t, func(t *testing.T) objection.Repository { return open(t) })
}
