package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// options says what goes into the image.
type options struct {
	Binary   string // the static runplane binary
	PID1     string // the static runplane-pid1 binary, which job pods run as PID 1
	CACerts  string // the PEM bundle copied to /etc/ssl/certs/ca-certificates.crt
	Tag      string // the full reference the tarball names, e.g. docker.io/runplane/runplane:e2e
	Version  string // optional label
	Revision string // optional label
}

// What the image holds and how it runs.
const (
	uid        = 65532 // the runplane user and group: non-root, outside the usual ranges of host users
	binPath    = "/usr/local/bin/runplane"
	pid1Path   = "/usr/local/bin/runplane-pid1" // next to runplane, where `runplane pod checkout` looks (inpod.CopyPID1)
	dataDir    = "/data"
	listenAddr = ":8080"
	source     = "https://github.com/runplane/runplane"
)

// epoch is every file's modification time and the image's creation time, so that the same inputs give the
// same digest.
var epoch = time.Unix(0, 0).UTC()

// writeImage builds the image opt describes and writes it to out as a docker-archive tarball. It returns the
// digest of the image's manifest (as a registry would have it) and the image's ID, the digest of its config,
// which `docker images` and `crictl images` show (an importer may write a manifest of its own).
func writeImage(opt options, out string) (digest, id v1.Hash, err error) {
	tag, err := name.NewTag(opt.Tag, name.StrictValidation)
	if err != nil {
		return digest, id, fmt.Errorf("-tag %q: want a full reference such as docker.io/runplane/runplane:e2e: %w", opt.Tag, err)
	}
	img, err := build(opt)
	if err != nil {
		return digest, id, err
	}
	if digest, err = img.Digest(); err != nil {
		return digest, id, err
	}
	if id, err = img.ConfigName(); err != nil {
		return digest, id, err
	}
	// Write next to out and rename, so that a failed build never leaves a truncated tarball behind.
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return digest, id, fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return digest, id, err
	}
	return digest, id, nil
}

// build assembles the image: a base layer (users, CA bundle, /tmp, /data) that changes seldom, then the binary.
func build(opt options) (v1.Image, error) {
	bin, arch, err := readBinary("-binary", opt.Binary)
	if err != nil {
		return nil, err
	}
	pid1, pid1Arch, err := readBinary("-pid1", opt.PID1)
	if err != nil {
		return nil, err
	}
	if pid1Arch != arch {
		return nil, fmt.Errorf("-pid1 %s is for %s, -binary %s for %s: build both for one architecture", opt.PID1, pid1Arch, opt.Binary, arch)
	}
	certs, err := os.ReadFile(opt.CACerts)
	if err != nil {
		return nil, fmt.Errorf("read the CA bundle (-ca-certs; on Debian: apt-get install ca-certificates): %w", err)
	}
	if len(bytes.TrimSpace(certs)) == 0 {
		return nil, fmt.Errorf("CA bundle %s is empty", opt.CACerts)
	}

	base, err := layer([]file{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "tmp/", mode: 0o1777},
		{name: "data/", mode: 0o700, owner: uid},
	})
	if err != nil {
		return nil, err
	}
	binary, err := layer([]file{
		{name: "usr/", mode: 0o755},
		{name: "usr/local/", mode: 0o755},
		{name: "usr/local/bin/", mode: 0o755},
		{name: binPath[1:], mode: 0o755, data: bin},
		{name: pid1Path[1:], mode: 0o755, data: pid1},
	})
	if err != nil {
		return nil, err
	}

	labels := map[string]string{
		"org.opencontainers.image.title":       "runplane",
		"org.opencontainers.image.description": "Scripts in git repositories as governed operations: REST API, RBAC, jobs",
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.url":         source,
	}
	if opt.Version != "" {
		labels["org.opencontainers.image.version"] = opt.Version
	}
	if opt.Revision != "" {
		labels["org.opencontainers.image.revision"] = opt.Revision
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config: v1.Config{
			Entrypoint: []string{binPath},
			Cmd:        []string{"serve"},
			User:       strconv.Itoa(uid) + ":" + strconv.Itoa(uid),
			Env: []string{
				"PATH=/usr/local/bin:/usr/bin:/bin",
				"RUNPLANE_LISTEN=" + listenAddr,
				"RUNPLANE_DATA_DIR=" + dataDir,
			},
			WorkingDir:   "/",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Labels:       labels,
		},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "hack/image: users, CA certificates, /tmp, /data"}},
		mutate.Addendum{Layer: binary, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "hack/image: " + binPath}},
	)
}

// passwd and group name the image's only users; root exists because tools that read them expect it.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nrunplane:x:65532:65532:runplane:/data:/sbin/nologin\n"
	group  = "root:x:0:\nrunplane:x:65532:\n"
)

// readBinary reads the binary at path (given by flag) and returns it with its GOARCH. It refuses a dynamically linked ELF
// binary, which could not start in an image without a C library. A file that is not ELF is taken as is, for
// the host's architecture (the tests package a stand-in).
func readBinary(flag, path string) (data []byte, arch string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", flag, err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return nil, "", fmt.Errorf("%s %s: not a regular, non-empty file", flag, path)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", flag, err)
	}
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		return data, runtime.GOARCH, nil
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", flag, path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, "", fmt.Errorf("%s %s is dynamically linked; the image has no C library: build it with CGO_ENABLED=0 go build -trimpath", flag, path)
		}
	}
	arch, ok := elfArch[f.Machine]
	if !ok {
		return nil, "", fmt.Errorf("%s %s: unsupported machine %v", flag, path, f.Machine)
	}
	return data, arch, nil
}

var elfArch = map[elf.Machine]string{
	elf.EM_X86_64:  "amd64",
	elf.EM_AARCH64: "arm64",
	elf.EM_386:     "386",
	elf.EM_ARM:     "arm",
	elf.EM_RISCV:   "riscv64",
	elf.EM_S390:    "s390x",
	elf.EM_PPC64:   "ppc64le",
}

// file is one entry of a layer. Names are relative to / ; directories end in "/".
type file struct {
	name  string
	mode  int64
	owner int // uid and gid
	data  []byte
}

// layer makes a layer of files, sorted by name, each with a fixed modification time.
func layer(files []file) (v1.Layer, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:     f.name,
			Mode:     f.mode,
			Uid:      f.owner,
			Gid:      f.owner,
			ModTime:  epoch,
			Typeflag: tar.TypeReg,
			Size:     int64(len(f.data)),
		}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}
