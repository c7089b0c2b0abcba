from chexmini_cli.main import main

raise SystemExit(main())
