// Package keyfile writes key files into the data directory safely: a key
// file appears whole or not at all, is readable by the service alone, and
// of two processes creating it at once exactly one succeeds, so they agree
// on one key.
package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateExclusive atomically creates path holding data with mode 0600. It
// fails with fs.ErrExist when path already exists, without touching it.
func CreateExclusive(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		// The temporary name is only a staging link; always remove it.
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && err == nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = rmErr
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// link(2) never replaces an existing file, unlike rename(2).
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a new directory entry in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
