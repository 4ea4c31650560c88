from barunrun_capture.cli import main

raise SystemExit(main())
