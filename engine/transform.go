package engine

import "errors"

func (r *Runner) newTransform(n *node) (processor, error) {
	return nil, errors.New("transform stages need the plugins package (not wired yet)")
}
