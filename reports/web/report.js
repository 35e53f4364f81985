// moebench HTML report: draws every chart with Vega-Lite (inlined above this script). Each chart
// element gets data-rendered="true" once drawn, or "error" with the message shown in its place;
// document.body gets data-charts="done" when all have finished (the browser test waits on it).
(function () {
  'use strict';
  var config = {
    font: 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    view: { stroke: '#d9dee7' },
    axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eef1f5' },
    legend: { labelFontSize: 11, titleFontSize: 12 },
    header: { labelFontSize: 12, titleFontSize: 12 },
    title: { fontSize: 13, anchor: 'start' }
  };
  var specs = JSON.parse(document.getElementById('mb-charts').textContent);
  function draw(el) {
    var spec = specs[Number(el.getAttribute('data-chart'))];
    var renderer = (spec.usermeta && spec.usermeta.renderer) || 'svg';
    return Promise.resolve().then(function () {
      var compiled = vegaLite.compile(spec, { config: config }).spec;
      var view = new vega.View(vega.parse(compiled), { renderer: renderer, container: el, hover: true });
      return view.runAsync();
    }).then(function () {
      el.setAttribute('data-rendered', 'true');
    }, function (e) {
      el.setAttribute('data-rendered', 'error');
      el.textContent = 'This chart could not be drawn: ' + (e && e.message ? e.message : e);
      console.error('moebench chart ' + el.id + ': ' + (e && e.stack ? e.stack : e));
    });
  }
  var jobs = Array.prototype.map.call(document.querySelectorAll('.mb-chart'), draw);
  window.moebenchCharts = Promise.all(jobs).then(function () {
    document.body.setAttribute('data-charts', 'done');
  });
})();
