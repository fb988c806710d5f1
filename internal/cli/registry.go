package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"certd/internal/app"
	"certd/internal/registry"
)

type registryCmd struct {
	Load registryLoadCmd `cmd:"" help:"Load base-registry entries (population, legal entities) from a JSONL or CSV file."`
}

type registryLoadCmd struct {
	DataDir  string `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Data directory of the embedded store."`
	MongoURI string `env:"CERTD_MONGO_URI" help:"Load into MongoDB at this URI instead."`
	Source   string `default:"file" help:"Where the entries come from, kept with each entry (e.g. population, legal-entity)."`
	File     string `arg:"" type:"existingfile" help:"JSONL ({\"code\",\"name\",\"kind\"} per line) or CSV with a header code,name,kind."`
}

func (c *registryLoadCmd) Run(ctx context.Context, env Env) error {
	st, closeStore, err := app.OpenStore(ctx, c.DataDir, c.MongoURI, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer closeStore()
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := registry.Load(ctx, st, f, c.Source)
	fmt.Fprintf(env.Stderr, "loaded %d registry entries from %s\n", n, c.File)
	return err
}
