package policyadmin

import "time"

// SetTestTimeout shortens the time a publish gives the bundle's tests.
func SetTestTimeout(s *Service, d time.Duration) { s.testTimeout = d }
