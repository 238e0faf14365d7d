package engine

import (
	"fmt"
	"io"
	"strings"
)

// GraphFormat is an output format of WriteGraph.
type GraphFormat string

// Graph formats.
const (
	GraphDOT     GraphFormat = "dot"
	GraphMermaid GraphFormat = "mermaid"
)

// WriteGraph draws the compiled pipeline DAG: sources, stages (labelled with
// their type and service) and edges (labelled with their conditions).
func (p *Plan) WriteGraph(w io.Writer, f GraphFormat) error {
	var b strings.Builder
	switch f {
	case GraphDOT:
		fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n", p.ID())
		for _, n := range p.nodes {
			shape := "box"
			if n.kind == nodeSource {
				shape = "ellipse"
			} else if n.stage.Type == StageSink {
				shape = "cylinder"
			}
			fmt.Fprintf(&b, "  %q [shape=%s,label=%q];\n", n.id, shape, nodeLabel(n))
		}
		for _, n := range p.nodes {
			for _, r := range n.routes {
				if r.late {
					fmt.Fprintf(&b, "  %q -> %q [label=\"late records\",style=dashed];\n", n.id, r.to.id)
				} else if r.cond != nil {
					fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", n.id, r.to.id, r.cond.String())
				} else {
					fmt.Fprintf(&b, "  %q -> %q;\n", n.id, r.to.id)
				}
			}
		}
		b.WriteString("}\n")
	case GraphMermaid:
		b.WriteString("flowchart LR\n")
		ids := map[string]string{}
		for i, n := range p.nodes {
			id := fmt.Sprintf("n%d", i)
			ids[n.id] = id
			label := mermaidText(nodeLabel(n))
			switch {
			case n.kind == nodeSource:
				fmt.Fprintf(&b, "  %s([\"%s\"])\n", id, label)
			case n.stage.Type == StageSink:
				fmt.Fprintf(&b, "  %s[(\"%s\")]\n", id, label)
			default:
				fmt.Fprintf(&b, "  %s[\"%s\"]\n", id, label)
			}
		}
		for _, n := range p.nodes {
			for _, r := range n.routes {
				if r.late {
					fmt.Fprintf(&b, "  %s -.->|late records| %s\n", ids[n.id], ids[r.to.id])
				} else if r.cond != nil {
					fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", ids[n.id], mermaidText(r.cond.String()), ids[r.to.id])
				} else {
					fmt.Fprintf(&b, "  %s --> %s\n", ids[n.id], ids[r.to.id])
				}
			}
		}
	default:
		return fmt.Errorf("unknown graph format %q (want dot or mermaid)", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func nodeLabel(n *node) string {
	if n.kind == nodeSource {
		return fmt.Sprintf("%s\n(%s source)", n.id, n.source.Type)
	}
	l := fmt.Sprintf("%s\n(%s", n.id, n.stage.Type)
	if n.stage.ServiceName != "" {
		l += ": " + n.stage.ServiceName
	}
	if n.stage.Replicas > 1 {
		l += fmt.Sprintf(" x%d", n.stage.Replicas)
	}
	return l + ")"
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "\n", "<br/>").Replace(s)
}
