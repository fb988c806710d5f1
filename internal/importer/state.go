package importer

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// fileID tells one version of an input file from another.
type fileID struct {
	Size    int64
	ModTime int64  // UnixNano
	Head    string // hex SHA-256 of the first 64 KiB
}

const headBytes = 64 << 10

func identify(f *os.File) (fileID, error) {
	st, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	buf := make([]byte, min(st.Size(), headBytes))
	if _, err := f.ReadAt(buf, 0); err != nil && err != io.EOF {
		return fileID{}, err
	}
	sum := sha256.Sum256(buf)
	return fileID{Size: st.Size(), ModTime: st.ModTime().UnixNano(), Head: hex.EncodeToString(sum[:])}, nil
}

// progressVersion is the layout version of progress files.
const progressVersion = 1

// progress is the content of FILE.progress: how far a run that stopped
// got. It only saves time; idempotency keys keep a rerun correct without it.
type progress struct {
	Version     int       `json:"version"`
	File        string    `json:"file"`
	Server      string    `json:"server"`
	TypeCode    string    `json:"typeCode"`
	Size        int64     `json:"size"`
	ModTime     int64     `json:"mtimeUnixNano"`
	Head        string    `json:"headSha256"`
	Offset      int64     `json:"offset"`      // bytes of the file fully acknowledged
	Rows        int       `json:"rows"`        // records before Offset
	RejectsSize int64     `json:"rejectsSize"` // bytes of the rejects file for those records
	Updated     time.Time `json:"updated"`
}

// matches reports whether p was written by a run over the same file,
// server and type.
func (p *progress) matches(id fileID, server, typeCode string) bool {
	return p.Version == progressVersion && p.Server == server && p.TypeCode == typeCode &&
		p.Size == id.Size && p.ModTime == id.ModTime && p.Head == id.Head &&
		p.Offset >= 0 && p.Offset <= id.Size && p.Rows >= 0 && p.RejectsSize >= 0
}

// loadProgress reads a progress file; a missing file is (nil, nil).
func loadProgress(path string) (*progress, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p progress
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// saveProgress replaces the progress file atomically: a reader sees the
// old or the new content, never a mix. It is not fsynced: after a power
// cut a torn file is ignored and the rerun starts over, safely.
func saveProgress(path string, p *progress) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// rejectRecord is one line of FILE.rejects.jsonl.
type rejectRecord struct {
	Line   int             `json:"line"`
	Row    json.RawMessage `json:"row"`
	Reason string          `json:"reason"`
	Code   string          `json:"code"`
	Stage  string          `json:"stage"` // "local": not sent; "server": refused by certd
}

// Stages of a reject.
const (
	stageLocal  = "local"
	stageServer = "server"
)

// rejects appends to FILE.rejects.jsonl, creating it on the first reject.
type rejects struct {
	path  string
	f     *os.File
	w     *bufio.Writer
	size  int64 // bytes written, including those of earlier runs kept
	dirty bool  // written since the last sync
	count int
}

// openRejects prepares the rejects file: a fresh run drops the old file,
// a resumed one keeps the first keep bytes (those of acknowledged records).
func openRejects(path string, resume bool, keep int64) (*rejects, error) {
	r := &rejects{path: path}
	if !resume {
		return r, removeIfExists(path)
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	if st.Size() > keep {
		if err := os.Truncate(path, keep); err != nil {
			return nil, err
		}
	}
	r.size = min(st.Size(), keep)
	return r, nil
}

func (r *rejects) add(rec rejectRecord) error {
	if r.f == nil {
		f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		r.f, r.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	if len(rec.Row) == 0 {
		rec.Row = json.RawMessage("null")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := r.w.Write(b); err != nil {
		return err
	}
	r.size += int64(len(b))
	r.dirty = true
	r.count++
	return nil
}

// sync makes what was added durable.
func (r *rejects) sync() error {
	if !r.dirty {
		return nil
	}
	if err := r.w.Flush(); err != nil {
		return err
	}
	if err := r.f.Sync(); err != nil {
		return err
	}
	r.dirty = false
	return nil
}

// close syncs and closes the file, removing it when it is empty.
func (r *rejects) close() error {
	var err error
	if r.f != nil {
		err = errors.Join(r.sync(), r.f.Close())
		r.f = nil
	}
	if st, e := os.Stat(r.path); e == nil && st.Size() == 0 {
		err = errors.Join(err, os.Remove(r.path))
	}
	return err
}

// exists reports whether the rejects file holds anything.
func (r *rejects) exists() bool { return r.size > 0 }

// absPath is path made absolute, for messages; path itself if that fails.
func absPath(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}
