// Command certd is the city's e-licence sharing platform: `certd serve`
// runs the GraphQL server, `certd token` prints a token for the embedded
// mode. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the city's time zone, even without system zoneinfo

	"certd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx)
	stop()
	os.Exit(code)
}
