package sqlite

import (
	"testing"

	"certd/internal/policyadmin"
	"certd/internal/store/storetest"
)

func TestPolicyConformance(t *testing.T) {
	storetest.RunPolicies(t, func(t *testing.T) policyadmin.Repository { return openTemp(t) })
}
