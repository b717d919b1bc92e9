function O(e){var a=e.target.closest&&e.target.closest("a[href]");if(a&&(e.type=="click"||e.button==1)&&a.host&&a.host!=l.host)T("Outbound Link: Click",{props:{url:a.href}})}
d.addEventListener("click",O);d.addEventListener("auxclick",O);
