// Command terraform-provider-meridian serves the meridian provider to Terraform.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/meridianhq/terraform-provider-meridian/internal/version"
	"github.com/meridianhq/terraform-provider-meridian/provider"
)

func main() {
	debug := flag.Bool("debug", false, "run with support for debuggers like delve")
	flag.Parse()
	err := providerserver.Serve(context.Background(), provider.New(version.Version), providerserver.ServeOpts{
		Address: "registry.terraform.io/meridianhq/meridian",
		Debug:   *debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
