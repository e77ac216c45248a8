// The reporting dashboard's charts (services/reporting/templates/dashboard.html), drawn with the vendored
// Chart.js from the figures the server rendered into #dashboard-data. No figure is computed here.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colors = ["#1f5f8b", "#2e8b57", "#c0392b", "#d68910", "#7d3c98"];
  Chart.defaults.font.family = "system-ui, sans-serif";
  Chart.defaults.animation = false; // figures people read, not a show; also keeps screenshots stable

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    var chart = new Chart(canvas, config);
    canvas.setAttribute("data-rendered", "true");
    canvas.setAttribute("data-points", String(chart.data.datasets.reduce(function (n, d) {
      return n + d.data.length;
    }, 0)));
  }

  function series(label, values, color, extra) {
    var base = { label: label, data: values, borderColor: color, backgroundColor: color };
    for (var key in extra || {}) {
      base[key] = extra[key];
    }
    return base;
  }

  var dollars = { ticks: { callback: function (v) { return "$" + Number(v).toLocaleString(); } } };

  draw("chart-savings", {
    type: "bar",
    data: {
      labels: data.weeks,
      datasets: [
        series("Savings", data.savings, colors[0]),
        series("Net savings", data.net_savings, colors[1]),
        series("Fees", data.fees, colors[3], { type: "line" })
      ]
    },
    options: { responsive: true, scales: { y: dollars } }
  });

  draw("chart-turnaround", {
    type: "line",
    data: {
      labels: data.weeks,
      datasets: [
        series("Received → priced, median (h)", data.turnaround.received_to_priced, colors[0]),
        series("Received → agreed, median (h)", data.turnaround.received_to_agreed, colors[1]),
        series("Agreed → executed, median (h)", data.turnaround.agreed_to_executed, colors[2])
      ]
    },
    options: { responsive: true, spanGaps: true, scales: { y: { title: { display: true, text: "hours" } } } }
  });

  draw("chart-pipeline", {
    type: "bar",
    data: {
      labels: data.pipeline.ages,
      datasets: data.pipeline.queues.map(function (queue, i) {
        return series(queue, data.pipeline.bills[i], colors[i % colors.length]);
      })
    },
    options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "open bills" } } } }
  });

  draw("chart-acceptance", {
    type: "line",
    data: {
      labels: data.weeks,
      datasets: [
        series("First-offer acceptance %", data.acceptance.first_offer, colors[0]),
        series("Median accepted share of billed %", data.acceptance.accepted_share, colors[1]),
        series("Quick-pay uptake %", data.acceptance.quick_pay, colors[3])
      ]
    },
    options: { responsive: true, spanGaps: true, scales: { y: { min: 0, max: 100 } } }
  });
})();
