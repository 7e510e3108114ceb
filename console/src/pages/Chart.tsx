import { LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/lib/core';

// Only the parts the trend uses: the rest of ECharts stays out of the bundle.
echarts.use([LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** A trend: one line per series over the periods' labels, rates in percent; a click on a point answers its series and period. */
export default function TrendChart({ labels, series, title, onPoint }: {
  labels: string[]; series: { name: string; data: (number | null)[] }[]; title: string; onPoint?: (series: number, index: number) => void;
}) {
  return (
    <div role="img" aria-label={title}>
      <ReactEChartsCore echarts={echarts} style={{ height: 280 }} notMerge
        onEvents={{ click: (e: { seriesIndex?: number; dataIndex?: number }) => e.seriesIndex !== undefined && e.dataIndex !== undefined && onPoint?.(e.seriesIndex, e.dataIndex) }}
        option={{
          tooltip: { trigger: 'axis' }, legend: { type: 'scroll', bottom: 0 }, grid: { left: 40, right: 16, top: 16, bottom: 48 },
          xAxis: { type: 'category', data: labels }, yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
          series: series.map((s) => ({ ...s, type: 'line', connectNulls: true })),
        }} />
    </div>
  );
}
