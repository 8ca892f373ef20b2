package dashboard

import (
	"embed"

	"github.com/pkfreelance/seatgate/web/i18n"
)

// The labels of every page, one JSON object per language in labels/
// (web/i18n). Both files have the same keys (a test checks).
//
//go:embed labels/*.json
var labelFiles embed.FS

// languages are the dashboard's languages; the choice is kept in the
// seathq_lang cookie.
var languages = i18n.MustLoad(labelFiles, "seathq_lang")
