package mongo_test

import (
	"testing"

	"certd/internal/policyadmin"
	"certd/internal/store/storetest"
)

func TestPolicies(t *testing.T) {
	storetest.RunPolicies(t, func(t *testing.T) policyadmin.Repository { return open(t) })
}
