// The query editor: YASGUI on this server's endpoint, with the dataset's prefixes and the
// competency questions as examples. No request leaves this server: the autocompleters that
// call remote services (prefix.cc, LOV) are switched off.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("coopgraph-config").textContent);
  var prefixLines = Object.keys(config.prefixes).sort().map(function (p) {
    return "PREFIX " + p + ": <" + config.prefixes[p] + ">";
  });
  Yasgui.Yasqe.defaults.autocompleters = ["variables"];
  // Every new tab starts with the dataset's prefixes; the first tab shows the first example.
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return []; } },
    persistenceId: null,
    yasqe: { value: prefixLines.join("\n") + "\n\nSELECT * WHERE { ?s ?p ?o } LIMIT 10" },
  });
  if (config.first) {
    yasgui.getTab().setQuery(config.first);
  }
  window.coopgraphYasgui = yasgui;
  // An IRI this server publishes, clicked in a result, opens its page here (not on the web).
  document.getElementById("yasgui").addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    var href = link ? link.getAttribute("href") : "";
    if (!config.base || href.indexOf(config.base) !== 0) {
      return;
    }
    event.preventDefault();
    var local = config.root + href.slice(config.base.length);
    if (link.target === "_blank") {
      window.open(local, "_blank", "noopener");
    } else {
      window.location.assign(local);
    }
  }, true);
  var links = document.querySelectorAll("a.example");
  Array.prototype.forEach.call(links, function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var tab = yasgui.getTab();
      tab.setQuery(link.getAttribute("data-query"));
      tab.query();
    });
  });
})();
