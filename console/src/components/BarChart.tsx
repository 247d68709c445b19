import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One bar per label, drawn by uPlot on a canvas (no DOM per bar). */
export function BarChart({
  title,
  labels,
  values,
  colour,
  testid,
}: {
  title: string;
  labels: string[];
  values: (number | null)[];
  colour: string;
  testid: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el || labels.length === 0) return;
    const xs = labels.map((_, i) => i);
    const opts: uPlot.Options = {
      title,
      width: Math.max(320, Math.min(720, labels.length * 90)),
      height: 200,
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
      axes: [
        { values: (_u, ticks) => ticks.map((t) => labels[t] ?? ""), stroke: "#9fb3c8", grid: { show: false } },
        { stroke: "#9fb3c8", grid: { stroke: "rgba(255,255,255,0.08)" } },
      ],
      legend: { show: false },
      series: [{}, { label: title, stroke: colour, fill: colour, paths: uPlot.paths.bars?.({ size: [0.6, 60] }), points: { show: false } }],
    };
    const plot = new uPlot(opts, [xs, values], el);
    return () => plot.destroy();
  }, [title, colour, JSON.stringify(labels), JSON.stringify(values)]);
  return <div class="chart" data-testid={testid} data-bars={labels.length} ref={host} />;
}
