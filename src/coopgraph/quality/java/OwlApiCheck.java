// coopgraph's OWL API check: loads ontology and data documents with the OWL API (the library
// Protégé is built on), resolving imports through a Protégé catalog, and reports load errors,
// unparsed triples, guessed declarations and OWL 2 profile violations.
//
// Run by coopgraph/owlapi.py, which compiles it against Debian's libowlapi-java. Usage:
//
//   java OwlApiCheck [--catalog FILE] [--ontology FILE | --data FILE | --context IRI]...
//                    [--save-turtle FILE TARGET]...
//
// --ontology FILE  loads FILE as Protégé opens it, and checks it against OWL 2 DL and OWL 2 RL.
// --save-turtle FILE TARGET  opens FILE and saves it to TARGET with the OWL API's Turtle
//                  writer, keeping its prefixes, as Protégé's "Save" does.
// --data FILE      loads FILE, which has no ontology header, into an ontology that imports every
//                  --context IRI (resolved through the catalog), as Protégé loads a data file
//                  into a project that imports the ontology; checks it against OWL 2 DL.
//
// Output: one line a finding, "KIND<TAB>FILE<TAB>MESSAGE", tabs, line breaks and backslashes in
// a field escaped as \t, \n and \\. KIND is loaded, load-error, missing-import, unparsed,
// guessed, OWL2_DL or OWL2_RL. Exit status: 0 when the run worked (findings or not), 2 when the
// arguments are wrong.

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import javax.xml.parsers.DocumentBuilderFactory;
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.formats.TurtleDocumentFormat;
import org.semanticweb.owlapi.io.FileDocumentSource;
import org.semanticweb.owlapi.io.OWLOntologyLoaderMetaData;
import org.semanticweb.owlapi.io.RDFParserMetaData;
import org.semanticweb.owlapi.io.UnparsableOntologyException;
import org.semanticweb.owlapi.model.AddImport;
import org.semanticweb.owlapi.model.IRI;
import org.semanticweb.owlapi.model.MissingImportHandlingStrategy;
import org.semanticweb.owlapi.model.OWLDocumentFormat;
import org.semanticweb.owlapi.model.OWLImportsDeclaration;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyCreationException;
import org.semanticweb.owlapi.model.OWLOntologyLoaderConfiguration;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWL2RLProfile;
import org.semanticweb.owlapi.profiles.OWLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;
import org.semanticweb.owlapi.rdf.turtle.parser.TurtleOntologyParser;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public final class OwlApiCheck {

    private static final OWLProfile DL = new OWL2DLProfile();
    private static final OWLProfile RL = new OWL2RLProfile();

    private static final IRI NOWHERE = IRI.create(new File("/nonexistent/coopgraph/not-in-catalog").toURI());

    private final Map<IRI, IRI> catalog = new TreeMap<>();
    private final List<IRI> context = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        OwlApiCheck run = new OwlApiCheck();
        List<String[]> jobs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (i + 1 >= args.length) {
                usage(option + " needs a value");
            }
            String value = args[++i];
            switch (option) {
                case "--catalog" -> run.readCatalog(new File(value));
                case "--context" -> run.context.add(IRI.create(value));
                case "--ontology", "--data" -> jobs.add(new String[] {option, value});
                case "--save-turtle" -> {
                    if (i + 1 >= args.length) {
                        usage("--save-turtle needs a file and a target");
                    }
                    jobs.add(new String[] {option, value, args[++i]});
                }
                default -> usage("unknown option " + option);
            }
        }
        for (String[] job : jobs) {
            if (job[0].equals("--ontology")) {
                run.checkOntology(new File(job[1]));
            } else if (job[0].equals("--save-turtle")) {
                run.saveTurtle(new File(job[1]), new File(job[2]));
            } else {
                run.checkData(new File(job[1]));
            }
        }
        System.out.flush();
    }

    private static void usage(String problem) {
        System.err.println("OwlApiCheck: " + problem);
        System.err.println(
                "usage: OwlApiCheck [--catalog FILE] [--ontology FILE | --data FILE | --context IRI]...");
        System.exit(2);
    }

    /** Reads the uri entries of an OASIS XML catalog, as Protégé's catalog-v001.xml has them. */
    private void readCatalog(File file) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setExpandEntityReferences(false);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        NodeList entries = factory.newDocumentBuilder().parse(file).getElementsByTagNameNS("*", "uri");
        File folder = file.getAbsoluteFile().getParentFile();
        for (int i = 0; i < entries.getLength(); i++) {
            Element entry = (Element) entries.item(i);
            String name = entry.getAttribute("name");
            String target = entry.getAttribute("uri");
            if (name.isEmpty() || target.isEmpty()) {
                continue;
            }
            File local = new File(target);
            if (!local.isAbsolute() && !target.contains(":")) {
                local = new File(folder, target);
            }
            catalog.put(IRI.create(name), IRI.create(local.getCanonicalFile().toURI()));
        }
    }

    /** A manager that resolves imports through the catalog only, as Protégé does offline. */
    private OWLOntologyManager manager() {
        OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
        manager.getIRIMappers().clear();
        // An IRI the catalog lacks is mapped to a file that does not exist, so that nothing is
        // fetched from the web: the import is then reported as missing.
        manager.getIRIMappers().add(iri -> catalog.getOrDefault(iri, NOWHERE));
        manager.addMissingImportListener(event -> {
            IRI missing = event.getImportedOntologyURI();
            report("missing-import", current, "import " + missing + (catalog.containsKey(missing)
                    ? " not loaded: " + firstLine(event.getCreationException())
                    : " is not in the catalog, and nothing is fetched from the web"));
        });
        return manager;
    }

    private static OWLOntologyLoaderConfiguration config(OWLOntologyManager manager) {
        return manager.getOntologyLoaderConfiguration()
                .setMissingImportHandlingStrategy(MissingImportHandlingStrategy.SILENT)
                .setReportStackTraces(false);
    }

    private String current = "";

    private void checkOntology(File file) {
        current = file.getPath();
        OWLOntologyManager manager = manager();
        OWLOntology ontology;
        try {
            // Declared as Turtle, as the file's extension says, so that no other parser (OBO, say)
            // claims a file the Turtle parsers reject.
            ontology = manager.loadOntologyFromOntologyDocument(
                    new FileDocumentSource(file, new TurtleDocumentFormat()), config(manager));
        } catch (OWLOntologyCreationException | RuntimeException e) {
            // The OWL API throws unchecked exceptions too, on some malformed axioms.
            report("load-error", current, firstLine(e));
            return;
        }
        loaded(ontology, manager.getOntologyFormat(ontology));
        profile(DL, ontology);
        profile(RL, ontology);
    }

    /** Opens FILE and saves it as Protégé does: the OWL API's Turtle writer, same prefixes. */
    private void saveTurtle(File file, File target) throws Exception {
        current = file.getPath();
        OWLOntologyManager manager = manager();
        OWLOntology ontology = manager.loadOntologyFromOntologyDocument(
                new FileDocumentSource(file, new TurtleDocumentFormat()), config(manager));
        TurtleDocumentFormat format = new TurtleDocumentFormat();
        OWLDocumentFormat loaded = manager.getOntologyFormat(ontology);
        if (loaded != null && loaded.isPrefixOWLDocumentFormat()) {
            format.copyPrefixesFrom(loaded.asPrefixOWLDocumentFormat());
        }
        manager.saveOntology(ontology, format, IRI.create(target.getAbsoluteFile().toURI()));
        report("saved", current, target.getPath());
    }

    private void checkData(File file) {
        current = file.getPath();
        OWLOntologyManager manager = manager();
        OWLOntologyLoaderConfiguration config = config(manager);
        OWLOntology ontology;
        OWLDocumentFormat format;
        try {
            ontology = manager.createOntology();
            for (IRI iri : context) {
                OWLImportsDeclaration declaration = manager.getOWLDataFactory().getOWLImportsDeclaration(iri);
                manager.applyChange(new AddImport(ontology, declaration));
                manager.makeLoadImportRequest(declaration, config);
            }
            format = new TurtleOntologyParser().parse(new FileDocumentSource(file), ontology, config);
        } catch (OWLOntologyCreationException | RuntimeException e) {
            report("load-error", current, firstLine(e));
            return;
        }
        loaded(ontology, format);
        profile(DL, ontology);
    }

    private void loaded(OWLOntology ontology, OWLDocumentFormat format) {
        String name = ontology.getOntologyID().getOntologyIRI().map(IRI::toString).orElse("an anonymous ontology");
        String imports = ontology.importsDeclarations().map(d -> d.getIRI().toString()).sorted()
                .collect(Collectors.joining(" "));
        report("loaded", current, name + ": " + ontology.getAxiomCount() + " axioms"
                + (imports.isEmpty() ? "" : ", imports " + imports)
                + ", " + ontology.getImportsClosure().size() + " ontologies in the imports closure");
        Optional<OWLOntologyLoaderMetaData> meta = format == null ? Optional.empty() : format.getOntologyLoaderMetaData();
        if (meta.isPresent() && meta.get() instanceof RDFParserMetaData rdf) {
            rdf.getUnparsedTriples().map(Object::toString).sorted().forEach(t -> report("unparsed", current, t));
            rdf.getGuessedDeclarations().entries().stream()
                    .map(e -> e.getKey() + " guessed to be " + e.getValue().getSimpleName())
                    .sorted()
                    .forEach(g -> report("guessed", current, g));
        }
    }

    private void profile(OWLProfile profile, OWLOntology ontology) {
        String kind = profile == DL ? "OWL2_DL" : "OWL2_RL";
        List<OWLProfileViolation> violations;
        try {
            violations = profile.checkOntology(ontology).getViolations();
        } catch (RuntimeException e) {
            report(kind, current, "the OWL API's profile check failed on this ontology: " + firstLine(e));
            return;
        }
        // The imports closure is checked; what is wrong in an imported document is reported for it.
        violations.stream()
                .filter(v -> v.getOntology().equals(ontology))
                .map(OwlApiCheck::describe)
                .sorted()
                .forEach(v -> report(kind, current, v));
    }

    private static String describe(OWLProfileViolation violation) {
        // The axiom at fault is shown; the ontology it is in is the file reported.
        String text = violation.toString().replaceAll("\\s+", " ").trim()
                .replaceFirst(" in OntologyID\\(.*\\)\\]$", "]");
        return violation.getClass().getSimpleName() + ": " + text;
    }

    private static String firstLine(Throwable error) {
        if (error == null) {
            return "";
        }
        if (error instanceof UnparsableOntologyException unparsable) {
            // The message lists every parser tried; the Turtle parser's own error is the useful one.
            return unparsable.getExceptions().entrySet().stream()
                    .filter(e -> e.getKey().getClass().getSimpleName().startsWith("Turtle"))
                    .map(e -> e.getValue().getMessage())
                    .findFirst()
                    .orElse(unparsable.getMessage())
                    .replaceAll("\\s+", " ").trim();
        }
        String message = error.getMessage() == null ? error.toString() : error.getMessage();
        return message.replaceAll("\\s+", " ").trim();
    }

    private static void report(String kind, String file, String message) {
        System.out.println(escape(kind) + "\t" + escape(file) + "\t" + escape(message));
    }

    private static String escape(String text) {
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }
}
