// Package atomicfile writes a file so that a power cut leaves the old
// content or the new one, never a torn file: the data goes to a file
// beside it, synced, and is renamed into place.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data. The file has mode 0600 (os.CreateTemp's).
func Write(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	// The rename itself survives a power cut once the directory is synced.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}
