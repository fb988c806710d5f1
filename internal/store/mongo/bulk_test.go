package mongo_test

import (
	"testing"

	"certd/internal/store/storetest"
)

func TestBulk(t *testing.T) {
	storetest.RunBulk(t, func(t *testing.T) storetest.BulkStore { return open(t) })
}
