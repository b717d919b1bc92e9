var F=(A("file-types")||"pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg").split(",").concat((A("add-file-types")||"").split(","));
function G(e){var a=e.target.closest&&e.target.closest("a[href]"),x=a&&a.pathname.split(".").pop().toLowerCase();if(a&&(e.type=="click"||e.button==1)&&x&&F.indexOf(x)>=0)T("File Download",{props:{url:a.href.split("?")[0]}})}
d.addEventListener("click",G);d.addEventListener("auxclick",G);
