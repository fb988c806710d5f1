package importer

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// bar shows acknowledged records on a terminal; a nil *bar shows nothing.
type bar struct {
	pb       *progressbar.ProgressBar
	w        io.Writer
	max, cur int64
}

// newBar counts total records (an estimate, corrected as it goes); nil
// when there is no writer or nothing to count.
func newBar(w io.Writer, total int64, desc string) *bar {
	if w == nil || total <= 0 {
		return nil
	}
	pb := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
	)
	return &bar{pb: pb, w: w, max: total}
}

func (b *bar) add(n int) {
	if b == nil || n == 0 {
		return
	}
	b.cur += int64(n)
	if b.cur > b.max {
		b.max = b.cur
		b.pb.ChangeMax64(b.max)
	}
	_ = b.pb.Add64(int64(n))
}

// done ends the bar: full when the file was read to the end, else where
// it stopped.
func (b *bar) done(complete bool) {
	if b == nil {
		return
	}
	if complete {
		if b.cur != b.max && b.cur > 0 {
			b.pb.ChangeMax64(b.cur)
		}
		_ = b.pb.Finish()
	} else {
		_ = b.pb.Exit()
	}
	fmt.Fprintln(b.w)
}
