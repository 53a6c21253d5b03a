// Command releasetools prints the path of a pinned release tool (goreleaser
// or tofu), building it from the Go module proxy into the testbed's cache
// first if it is not there (make release-snapshot, make tofu). Progress goes
// to stderr, so `$(go run ./internal/testbed/cmd/releasetools goreleaser)`
// is the path alone.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var (
		path string
		err  error
	)
	switch {
	case len(os.Args) == 2 && os.Args[1] == "goreleaser":
		path, err = cluster.BuildGoreleaser(ctx, os.Stderr)
	case len(os.Args) == 2 && os.Args[1] == "tofu":
		path, err = cluster.BuildTofu(ctx, os.Stderr)
	default:
		fmt.Fprintln(os.Stderr, "usage: releasetools goreleaser|tofu")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "releasetools:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
