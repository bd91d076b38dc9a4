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
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return []; } },
    persistenceId: null,
    yasqe: { value: config.first || prefixLines.join("\n") + "\n\nSELECT * WHERE { ?s ?p ?o } LIMIT 10" },
  });
  window.coopgraphYasgui = yasgui;
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
