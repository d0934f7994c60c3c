import os
import lit.formats

config.name = "gradc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".nn", ".ir", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.gradc_bin_dir, "..", "tests", "lit-out")

config.environment["PATH"] = os.pathsep.join(
    [config.gradc_bin_dir, config.llvm_tools_dir, config.environment.get("PATH", "/usr/bin:/bin")])
# Every pass pipeline a test runs verifies the module after each pass
# (passes::verifyEachByDefault).
config.environment["GRADC_VERIFY_EACH"] = "1"
config.substitutions.append(("%examples", os.path.join(config.gradc_src_root, "examples")))
config.substitutions.append(("%not", "not"))
