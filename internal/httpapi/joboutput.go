package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"path"

	"github.com/runplane/runplane/internal/jobfiles"
)

// jobOutput lists the files a multi-container job kept from its output directory: [{path, size, mod_time}],
// [] for a job that kept none.
func (h *Handler) jobOutput(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := h.job(r, id); err != nil {
		return err
	}
	files := []jobfiles.File{}
	if h.files != nil {
		l, err := h.files.List(id)
		if err != nil && !errors.Is(err, jobfiles.ErrNotFound) {
			return err
		}
		if l != nil {
			files = l
		}
	}
	writeJSON(w, http.StatusOK, files)
	return nil
}

// jobOutputFile sends one kept output file as a download; 404 when the job kept no such file.
func (h *Handler) jobOutputFile(w http.ResponseWriter, r *http.Request) error {
	id, p := r.PathValue("id"), r.PathValue("path")
	if _, err := h.job(r, id); err != nil {
		return err
	}
	if h.files == nil {
		return notFound("job %s kept no file %q", id, p)
	}
	f, info, err := h.files.OpenFile(id, p)
	if errors.Is(err, jobfiles.ErrNotFound) {
		return notFound("job %s kept no file %q", id, p)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	// What a job wrote is never rendered by a browser as a page of this origin.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)}))
	http.ServeContent(w, r, "", info.ModTime(), f)
	return nil
}
