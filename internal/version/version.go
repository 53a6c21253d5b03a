// Package version holds the one build stamp of the provider and the CLI, so
// that both binaries of a build say the same version. Release builds set it
// with -ldflags "-X github.com/meridianhq/terraform-provider-meridian/internal/version.Version=X.Y.Z"
// (.goreleaser.yml passes the tag's version; the GNUmakefile and
// scripts/release-snapshot.sh read the default below, so the version in
// development is written here and nowhere else).
package version

// Version is the build's version; the default is the version in development.
var Version = "0.1.0"
